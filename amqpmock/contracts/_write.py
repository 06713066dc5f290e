"""A document as text (YAML, or JSON for a ``.json`` file), written atomically.

YAML through ``yaml.safe_dump``, with no aliases: the document goes through JSON first,
so no two places share one object for the dumper to anchor. Keys stay in the order
built; long descriptions are not wrapped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from amqpmock.cassette import write_text_atomic
from amqpmock.contracts._errors import ContractError

__all__ = ["document_text", "write_document"]


def document_text(document: dict[str, Any], *, as_json: bool = False) -> str:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if as_json:
        return text
    dumped: str = yaml.safe_dump(
        json.loads(text),
        sort_keys=False,
        allow_unicode=True,
        width=1000,
        default_flow_style=False,
    )
    return dumped


def write_document(document: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``document`` to ``path``: JSON if it ends in ``.json``, else YAML."""
    target = Path(path)
    text = document_text(document, as_json=target.suffix.lower() == ".json")
    try:
        return write_text_atomic(target, text)
    except OSError as exc:
        raise ContractError(f"{target}: cannot write: {exc.strerror or exc}") from None
