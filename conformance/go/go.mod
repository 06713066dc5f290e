module amqpmock/conformance/go

go 1.19

require github.com/rabbitmq/amqp091-go v1.5.0

require go.uber.org/goleak v1.1.12 // indirect

// Debian's golang-github-rabbitmq-amqp091-go-dev, offline (GOPROXY=off, GOFLAGS=-mod=mod)
replace github.com/rabbitmq/amqp091-go => /usr/share/gocode/src/github.com/rabbitmq/amqp091-go

replace go.uber.org/goleak => /usr/share/gocode/src/go.uber.org/goleak
