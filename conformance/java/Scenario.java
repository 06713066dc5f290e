// The conformance scenario with the RabbitMQ Java client (Debian's
// librabbitmq-client-java). Usage: java -cp ... Scenario AMQP_URL
// Prints one JSON object, the transcript, on stdout. The same steps as
// ../go/scenario.go and ../ruby/scenario.rb; run by ../run_clients.py.

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public final class Scenario {
    private static final long WAIT_SECONDS = 10;

    /** One delivery as a consumer saw it. */
    private static final class Delivery {
        final Envelope envelope;
        final AMQP.BasicProperties properties;
        final byte[] body;

        Delivery(Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
            this.envelope = envelope;
            this.properties = properties;
            this.body = body;
        }
    }

    /** A consumer that hands its deliveries to a queue. */
    private static final class Collector extends DefaultConsumer {
        final BlockingQueue<Delivery> deliveries = new LinkedBlockingQueue<>();

        Collector(Channel channel) {
            super(channel);
        }

        @Override
        public void handleDelivery(
                String tag, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
            deliveries.add(new Delivery(envelope, properties, body));
        }

        Delivery next() throws InterruptedException {
            Delivery d = deliveries.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            if (d == null) {
                throw new IllegalStateException("no delivery within " + WAIT_SECONDS + " s");
            }
            return d;
        }
    }

    static String normalise(String s) {
        if (s == null) {
            return null;
        }
        return s.replaceAll("amq\\.gen-[A-Za-z0-9_+/=.\\-]+", "amq.gen-<id>")
                .replaceAll("amq\\.ctag-[A-Za-z0-9_+/=.\\-]+", "amq.ctag-<id>")
                .replaceAll(
                        "amq\\.rabbitmq\\.reply-to\\.[A-Za-z0-9_+/=.\\-]+",
                        "amq.rabbitmq.reply-to.<id>");
    }

    static String str(Object value) {
        return value == null ? null : normalise(value.toString());
    }

    static Map<String, Object> record(Delivery d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("body", new String(d.body, StandardCharsets.UTF_8));
        m.put("exchange", d.envelope.getExchange());
        m.put("routing_key", d.envelope.getRoutingKey());
        m.put("redelivered", d.envelope.isRedeliver());
        m.put("delivery_tag", d.envelope.getDeliveryTag());
        m.put("content_type", d.properties.getContentType());
        return m;
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(args[0]);
        factory.setAutomaticRecoveryEnabled(false);
        Connection conn = factory.newConnection("amqpmock-conformance-java");

        Map<String, Object> server = new LinkedHashMap<>();
        server.put("product", str(conn.getServerProperties().get("product")));
        server.put("version", str(conn.getServerProperties().get("version")));
        out.put("server", server);

        // topology: a topic exchange and a server-named exclusive queue bound to order.*
        Channel ch = conn.createChannel();
        ch.exchangeDeclare("conf.events", "topic", false, true, null);
        String queue = ch.queueDeclare("", false, true, true, null).getQueue();
        ch.queueBind(queue, "conf.events", "order.*");
        out.put("queue", normalise(queue));

        // publish, consume with manual ack, nack with requeue, ack the redelivery
        AMQP.BasicProperties props =
                new AMQP.BasicProperties.Builder().contentType("application/json").build();
        ch.basicPublish(
                "conf.events", "order.created", props, "{\"id\":1}".getBytes(StandardCharsets.UTF_8));
        Collector events = new Collector(ch);
        String tag = ch.basicConsume(queue, false, events);
        out.put("consumer_tag", normalise(tag));
        Delivery first = events.next();
        out.put("delivery", record(first));
        ch.basicNack(first.envelope.getDeliveryTag(), false, true);
        Delivery again = events.next();
        out.put("redelivery", record(again));
        ch.basicAck(again.envelope.getDeliveryTag(), false);
        ch.basicCancel(tag);

        // direct reply-to: a server on another channel of the same connection
        Channel serverCh = conn.createChannel();
        serverCh.queueDeclare("conf.rpc", false, true, false, null);
        BlockingQueue<String> seenReplyTo = new LinkedBlockingQueue<>();
        serverCh.basicConsume(
                "conf.rpc",
                false,
                new DefaultConsumer(serverCh) {
                    @Override
                    public void handleDelivery(
                            String t, Envelope env, AMQP.BasicProperties p, byte[] body)
                            throws IOException {
                        seenReplyTo.add(p.getReplyTo());
                        AMQP.BasicProperties reply =
                                new AMQP.BasicProperties.Builder()
                                        .correlationId(p.getCorrelationId())
                                        .build();
                        byte[] answer =
                                ("pong:" + new String(body, StandardCharsets.UTF_8))
                                        .getBytes(StandardCharsets.UTF_8);
                        getChannel().basicPublish("", p.getReplyTo(), reply, answer);
                        getChannel().basicAck(env.getDeliveryTag(), false);
                    }
                });
        Collector replies = new Collector(ch);
        ch.basicConsume("amq.rabbitmq.reply-to", true, replies);
        AMQP.BasicProperties request =
                new AMQP.BasicProperties.Builder()
                        .replyTo("amq.rabbitmq.reply-to")
                        .correlationId("corr-1")
                        .build();
        ch.basicPublish("", "conf.rpc", request, "ping".getBytes(StandardCharsets.UTF_8));
        Delivery reply = replies.next();
        Map<String, Object> rpc = new LinkedHashMap<>();
        rpc.put("request_reply_to", normalise(seenReplyTo.poll(WAIT_SECONDS, TimeUnit.SECONDS)));
        rpc.put("reply_body", new String(reply.body, StandardCharsets.UTF_8));
        rpc.put("correlation_id", reply.properties.getCorrelationId());
        rpc.put("reply_routing_key", normalise(reply.envelope.getRoutingKey()));
        out.put("rpc", rpc);

        // basic.get on a missing queue: a channel error on its own channel
        Channel errCh = conn.createChannel();
        Map<String, Object> missing = new LinkedHashMap<>();
        try {
            errCh.basicGet("conf.missing", true);
            missing.put("error", null);
        } catch (IOException e) {
            ShutdownSignalException sse = (ShutdownSignalException) e.getCause();
            AMQP.Channel.Close close = (AMQP.Channel.Close) sse.getReason();
            missing.put("code", close.getReplyCode());
            missing.put("text", normalise(close.getReplyText()));
        }
        missing.put("channel_open", errCh.isOpen());
        missing.put("other_channel_open", ch.isOpen());
        out.put("missing_queue", missing);

        conn.close();
        out.put("closed", !conn.isOpen());
        System.out.println(Json.write(out));
    }

    /** Just enough JSON for the transcript. */
    static final class Json {
        static String write(Object v) {
            StringBuilder sb = new StringBuilder();
            write(sb, v);
            return sb.toString();
        }

        @SuppressWarnings("unchecked")
        static void write(StringBuilder sb, Object v) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof Boolean || v instanceof Number) {
                sb.append(v);
            } else if (v instanceof Map) {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) {
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    write(sb, e.getKey());
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            } else {
                String s = v.toString();
                sb.append('"');
                for (int i = 0; i < s.length(); i++) {
                    char c = s.charAt(i);
                    if (c == '"' || c == '\\') {
                        sb.append('\\').append(c);
                    } else if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
                sb.append('"');
            }
        }
    }
}
