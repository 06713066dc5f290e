"""The viewer: what a cassette or a test's traffic did, as message flows (``flows``),
a text timeline (``timeline``, ``amqpmock show``) and a sequence diagram (``diagram``).

May import ``cassette``, the core's exchange types and ``testing.inspection`` records;
nothing imports the viewer but the CLI and the pytest plugin.
"""
