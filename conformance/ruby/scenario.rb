# The conformance scenario with Bunny (Debian's ruby-bunny).
# Usage: ruby scenario.rb AMQP_URL
# Prints one JSON object, the transcript, on stdout. The same steps as
# ../java/Scenario.java and ../go/scenario.go; run by ../run_clients.py.
require "bunny"
require "json"
require "logger"
require "timeout"

WAIT = 10

def normalise(s)
  return nil if s.nil?

  s.to_s
   .gsub(/amq\.gen-[A-Za-z0-9_+\/=.\-]+/, "amq.gen-<id>")
   .gsub(/amq\.ctag-[A-Za-z0-9_+\/=.\-]+/, "amq.ctag-<id>")
   .gsub(/amq\.rabbitmq\.reply-to\.[A-Za-z0-9_+\/=.\-]+/, "amq.rabbitmq.reply-to.<id>")
   .gsub(/\Abunny-[0-9]+-[0-9]+\z/, "bunny-<id>") # Bunny's own consumer tags
end

def next_item(queue, step)
  Timeout.timeout(WAIT) { queue.pop }
rescue Timeout::Error
  abort("#{step}: nothing within #{WAIT} s")
end

def record(delivery_info, properties, body)
  {
    "body" => body,
    "exchange" => delivery_info.exchange,
    "routing_key" => delivery_info.routing_key,
    "redelivered" => delivery_info.redelivered?,
    "delivery_tag" => delivery_info.delivery_tag.to_i,
    "content_type" => properties.content_type,
  }
end

out = {}
# continuation_timeout: Bunny 2.19's basic_get waits for its own continuation, which a
# channel.close never fills, so the 404 below surfaces only when this timeout runs out
# (15 s by default, on RabbitMQ as on the fake). The brokers are local: 2 s is plenty.
conn = Bunny.new(
  ARGV.fetch(0), automatically_recover: false, continuation_timeout: 2_000, logger: Logger.new(nil)
)
conn.start
out["server"] = {
  "product" => normalise(conn.server_properties["product"]),
  "version" => normalise(conn.server_properties["version"]),
}

# topology: a topic exchange and a server-named exclusive queue bound to order.*
ch = conn.create_channel
exchange = ch.topic("conf.events", durable: false, auto_delete: true)
queue = ch.queue("", durable: false, exclusive: true, auto_delete: true)
queue.bind(exchange, routing_key: "order.*")
out["queue"] = normalise(queue.name)

# publish, consume with manual ack, nack with requeue, ack the redelivery
exchange.publish('{"id":1}', routing_key: "order.created", content_type: "application/json")
events = Queue.new
consumer = queue.subscribe(manual_ack: true) { |info, props, body| events << [info, props, body] }
out["consumer_tag"] = normalise(consumer.consumer_tag)
info, props, body = next_item(events, "delivery")
out["delivery"] = record(info, props, body)
ch.nack(info.delivery_tag, false, true)
info, props, body = next_item(events, "redelivery")
out["redelivery"] = record(info, props, body)
ch.ack(info.delivery_tag, false)
consumer.cancel

# direct reply-to: a server on another channel of the same connection
server_ch = conn.create_channel
seen_reply_to = Queue.new
rpc_queue = server_ch.queue("conf.rpc", durable: false, exclusive: true, auto_delete: false)
rpc_queue.subscribe(manual_ack: true) do |req_info, req_props, req_body|
  seen_reply_to << req_props.reply_to
  server_ch.default_exchange.publish(
    "pong:#{req_body}", routing_key: req_props.reply_to, correlation_id: req_props.correlation_id
  )
  server_ch.ack(req_info.delivery_tag, false)
end
replies = Queue.new
reply_consumer = Bunny::Consumer.new(ch, "amq.rabbitmq.reply-to", ch.generate_consumer_tag, true)
reply_consumer.on_delivery { |info, props, body| replies << [info, props, body] }
ch.basic_consume_with(reply_consumer)
ch.default_exchange.publish(
  "ping", routing_key: "conf.rpc", reply_to: "amq.rabbitmq.reply-to", correlation_id: "corr-1"
)
info, props, body = next_item(replies, "rpc reply")
out["rpc"] = {
  "request_reply_to" => normalise(next_item(seen_reply_to, "rpc request")),
  "reply_body" => body,
  "correlation_id" => props.correlation_id,
  "reply_routing_key" => normalise(info.routing_key),
}

# basic.get on a missing queue: a channel error on its own channel
err_ch = conn.create_channel
missing = {}
begin
  err_ch.basic_get("conf.missing", manual_ack: false)
  missing["error"] = nil
rescue Bunny::ChannelLevelException => e
  missing["code"] = e.channel_close.reply_code
  missing["text"] = normalise(e.channel_close.reply_text)
end
missing["channel_open"] = err_ch.open?
missing["other_channel_open"] = ch.open?
out["missing_queue"] = missing

conn.close
out["closed"] = conn.closed?
puts JSON.generate(out)
