"""Tests of the cassette format: bodies, model, YAML persistence, redaction."""
