// The conformance scenario with amqp091-go (Debian's
// golang-github-rabbitmq-amqp091-go-dev). Usage: scenario AMQP_URL
// Prints one JSON object, the transcript, on stdout. The same steps as
// ../java/Scenario.java and ../ruby/scenario.rb; run by ../run_clients.py.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const wait = 10 * time.Second

var generated = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`amq\.gen-[A-Za-z0-9_+/=.\-]+`), "amq.gen-<id>"},
	{regexp.MustCompile(`amq\.ctag-[A-Za-z0-9_+/=.\-]+`), "amq.ctag-<id>"},
	{regexp.MustCompile(`amq\.rabbitmq\.reply-to\.[A-Za-z0-9_+/=.\-]+`), "amq.rabbitmq.reply-to.<id>"},
	// the client's own consumer tags: ctag-<program path>-<counter>
	{regexp.MustCompile(`^ctag-.*-([0-9]+)$`), "ctag-<program>-$1"},
}

func normalise(s string) string {
	for _, g := range generated {
		s = g.re.ReplaceAllString(s, g.with)
	}
	return s
}

// ordered is a JSON object that keeps its keys in insertion order.
type ordered struct {
	keys   []string
	values map[string]any
}

func newOrdered() *ordered { return &ordered{values: map[string]any{}} }

func (o *ordered) put(k string, v any) {
	if _, ok := o.values[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.values[k] = v
}

func (o *ordered) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			out = append(out, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(o.values[k])
		if err != nil {
			return nil, err
		}
		out = append(append(append(out, kb...), ':'), vb...)
	}
	return append(out, '}'), nil
}

func str(v any) any {
	if v == nil {
		return nil
	}
	return normalise(fmt.Sprint(v))
}

func must(err error, step string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", step, err)
		os.Exit(1)
	}
}

func next(ds <-chan amqp.Delivery, step string) amqp.Delivery {
	select {
	case d, ok := <-ds:
		if !ok {
			must(errors.New("consumer closed"), step)
		}
		return d
	case <-time.After(wait):
		must(errors.New("no delivery within 10 s"), step)
	}
	panic("unreachable")
}

func record(d amqp.Delivery) *ordered {
	m := newOrdered()
	m.put("body", string(d.Body))
	m.put("exchange", d.Exchange)
	m.put("routing_key", d.RoutingKey)
	m.put("redelivered", d.Redelivered)
	m.put("delivery_tag", d.DeliveryTag)
	m.put("content_type", d.ContentType)
	return m
}

func main() {
	ctx := context.Background()
	out := newOrdered()
	conn, err := amqp.Dial(os.Args[1])
	must(err, "connect")

	server := newOrdered()
	server.put("product", str(conn.Properties["product"]))
	server.put("version", str(conn.Properties["version"]))
	out.put("server", server)

	// topology: a topic exchange and a server-named exclusive queue bound to order.*
	ch, err := conn.Channel()
	must(err, "channel")
	must(ch.ExchangeDeclare("conf.events", "topic", false, true, false, false, nil), "exchange.declare")
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(err, "queue.declare")
	must(ch.QueueBind(q.Name, "order.*", "conf.events", false, nil), "queue.bind")
	out.put("queue", normalise(q.Name))

	// publish, consume with manual ack, nack with requeue, ack the redelivery
	must(ch.PublishWithContext(ctx, "conf.events", "order.created", false, false, amqp.Publishing{
		ContentType: "application/json",
		Body:        []byte(`{"id":1}`),
	}), "basic.publish")
	events, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	must(err, "basic.consume")
	first := next(events, "delivery")
	out.put("consumer_tag", normalise(first.ConsumerTag))
	out.put("delivery", record(first))
	must(first.Nack(false, true), "basic.nack")
	again := next(events, "redelivery")
	out.put("redelivery", record(again))
	must(again.Ack(false), "basic.ack")
	must(ch.Cancel(first.ConsumerTag, false), "basic.cancel")

	// direct reply-to: a server on another channel of the same connection
	serverCh, err := conn.Channel()
	must(err, "server channel")
	_, err = serverCh.QueueDeclare("conf.rpc", false, false, true, false, nil)
	must(err, "rpc queue.declare")
	requests, err := serverCh.Consume("conf.rpc", "", false, false, false, false, nil)
	must(err, "rpc basic.consume")
	seenReplyTo := make(chan string, 1)
	go func() {
		for d := range requests {
			seenReplyTo <- d.ReplyTo
			must(serverCh.PublishWithContext(ctx, "", d.ReplyTo, false, false, amqp.Publishing{
				CorrelationId: d.CorrelationId,
				Body:          append([]byte("pong:"), d.Body...),
			}), "rpc reply")
			must(d.Ack(false), "rpc basic.ack")
		}
	}()
	replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	must(err, "reply-to basic.consume")
	must(ch.PublishWithContext(ctx, "", "conf.rpc", false, false, amqp.Publishing{
		ReplyTo:       "amq.rabbitmq.reply-to",
		CorrelationId: "corr-1",
		Body:          []byte("ping"),
	}), "rpc request")
	reply := next(replies, "rpc reply")
	rpc := newOrdered()
	select {
	case r := <-seenReplyTo:
		rpc.put("request_reply_to", normalise(r))
	case <-time.After(wait):
		rpc.put("request_reply_to", nil)
	}
	rpc.put("reply_body", string(reply.Body))
	rpc.put("correlation_id", reply.CorrelationId)
	rpc.put("reply_routing_key", normalise(reply.RoutingKey))
	out.put("rpc", rpc)

	// basic.get on a missing queue: a channel error on its own channel
	errCh, err := conn.Channel()
	must(err, "error channel")
	missing := newOrdered()
	_, _, err = errCh.Get("conf.missing", true)
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		missing.put("code", amqpErr.Code)
		missing.put("text", normalise(amqpErr.Reason))
	} else {
		missing.put("error", str(err))
	}
	missing.put("channel_open", !errCh.IsClosed())
	missing.put("other_channel_open", !ch.IsClosed())
	out.put("missing_queue", missing)

	must(conn.Close(), "connection.close")
	out.put("closed", conn.IsClosed())
	b, err := json.Marshal(out)
	must(err, "json")
	fmt.Println(string(b))
}
