"""What tests use: the broker harness, traffic inspection and assertions, RPC stubs,
the recording proxy's thread, a throwaway real RabbitMQ node and TLS test certificates.

May import every other part of amqpmock; nothing in the package imports it but the CLI,
the demo and the pytest plugin.
"""
