"""amqpmock's pytest plugin, installed as ``pytest_amqpmock`` (source in pytest_plugin/)."""
