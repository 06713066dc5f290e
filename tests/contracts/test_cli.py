"""``amqpmock asyncapi CASSETTE... [-o FILE]``: output forms, and bad input that ends
in a clear message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from amqpmock.cli import main

from .conftest import REPO

OSLO = REPO / "cassettes" / "proxy" / "oslo_messaging_rpc.yaml"
AIO = REPO / "cassettes" / "proxy" / "aio_pika_rpc.yaml"


def test_yaml_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", str(OSLO)]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["asyncapi"] == "3.0.0"
    assert "send.neutron.dhcp_agent.node-1" in doc["operations"]


def test_json_or_yaml_by_the_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", str(OSLO), str(AIO), "-o", str(tmp_path / "api.json")]) == 0
    doc = json.loads((tmp_path / "api.json").read_text())
    assert {"send.multiply", "send.neutron.dhcp_agent"} <= set(doc["operations"])
    assert main(["asyncapi", str(AIO), "--title", "Pricing", "-o", str(tmp_path / "api.yml")]) == 0
    text = (tmp_path / "api.yml").read_text()
    assert not text.lstrip().startswith("{")
    assert yaml.safe_load(text)["info"]["title"] == "Pricing"
    assert "api.yml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such cassette file"),
        ("version: 1\nconnections: [\n", "not valid YAML at line 3"),
        ("version: 1\nconections: []\n", "did you mean 'connections'"),
        ("version: 99\nconnections: []\n", "version"),
        ("- just\n- a list\n", "cassette.yaml"),
    ],
    ids=["missing", "broken-yaml", "unknown-key", "newer-version", "not-a-cassette"],
)
def test_bad_cassettes_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    path = tmp_path / "cassette.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["asyncapi", str(OSLO), str(path), "-o", str(tmp_path / "out.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("amqpmock asyncapi: ")
    assert str(path) in err and expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out.yaml").exists()  # nothing half-made is written


def test_a_folder_is_not_a_cassette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", str(tmp_path)]) == 1
    assert f"{tmp_path}: cannot read" in capsys.readouterr().err


def test_an_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["asyncapi", str(OSLO), "-o", str(blocker / "api.yaml")]) == 1
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_no_cassette_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["asyncapi"])
    assert exit_.value.code == 2


def test_the_readme_shows_what_the_command_writes(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Contracts\n", 1)[1].split("\n## ", 1)[0]
    assert "`amqpmock asyncapi cassettes/proxy/oslo_messaging_rpc.yaml -o oslo.yaml`" in section
    shown = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert main(["asyncapi", str(OSLO)]) == 0
    written = capsys.readouterr().out
    for excerpt in shown.split("...\n"):
        assert excerpt.strip() and excerpt in written, excerpt
