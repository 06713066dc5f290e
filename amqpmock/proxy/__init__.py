"""Recording proxy: client <-> upstream RabbitMQ, frames decoded on the side."""
