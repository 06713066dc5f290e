# Two entry points that do all setup on a fresh machine: `make test`, `make demo`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck bench clean conformance conformance-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check amqpmock pytest_plugin tests bench conformance
	$(VENV)/bin/ruff format --check amqpmock pytest_plugin tests bench conformance
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m amqpmock.demo

bench: $(STAMP)
	$(PY) bench/routing.py

# The same client scenario in Java, Go and Ruby (Debian's client libraries) against a
# real RabbitMQ node and the fake, transcripts diffed. By hand only: not in `make test`
# or CI. Needs `make conformance-deps` (as root) once.
conformance: $(STAMP)
	$(PY) conformance/run_clients.py

conformance-deps:
	apt-get install -y default-jdk-headless librabbitmq-client-java golang-go \
		golang-github-rabbitmq-amqp091-go-dev ruby-bunny rabbitmq-server

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
