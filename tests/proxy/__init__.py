"""Tests of the recording proxy: sans-IO frame tracking and recording, and live runs."""
