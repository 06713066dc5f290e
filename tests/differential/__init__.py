"""Differential tests: the same scenarios run against real RabbitMQ and the fake broker."""
