"""amqpmock: a fake AMQP 0-9-1 broker with RabbitMQ's semantics, for tests."""

__version__ = "0.1.0"
