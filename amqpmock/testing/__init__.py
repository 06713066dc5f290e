"""What tests use: the broker harness, traffic inspection and assertions, RPC stubs,
the recording proxy's thread, and a throwaway real RabbitMQ node.

May import every other part of amqpmock; nothing in the package imports it but the CLI,
the demo and the pytest plugin.
"""
