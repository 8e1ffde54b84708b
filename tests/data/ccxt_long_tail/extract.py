"""Find the sample websocket trade messages ccxt.pro keeps in comments next to its handlers.

Reads the installed ccxt.pro sources (``ccxt/pro/<id>.py``), takes the comment blocks inside
every ``handle_trade*`` method and, after them, ``parse_ws_trade``/``parse_trade``
(``*my_trade*`` excluded) and parses each block that
holds a JSON-like object leniently (``//`` remarks, trailing commas, single quotes, ``...``
removed). Prints, per exchange id, the candidates as compact JSON with the handler name and
line: a starting point for ``<id>.json`` in this folder, which is checked and, where the
comment is not valid JSON, corrected by hand (README.md lists every fixture's source).

    python tests/data/ccxt_long_tail/extract.py [ID ...]
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro


def _comment_blocks(source: list[str], start: int, end: int) -> list[tuple[int, str]]:
    """Samples inside the ``#`` comments between two line numbers (1-based, inclusive): each
    run of comment lines from one opening ``{``/``[`` line to the first closing line after
    which the text parses (several samples per comment block)."""
    lines = [(n, source[n - 1].strip()) for n in range(start, end + 1)]
    comments = [(n, text[1:]) for n, text in lines if text.startswith("#")]
    samples: list[tuple[int, str]] = []
    i = 0
    while i < len(comments):
        number, text = comments[i]
        if not text.strip().startswith(("{", "[")):
            i += 1
            continue
        for j in range(i, min(i + 400, len(comments))):
            if comments[j][0] - comments[i][0] != j - i:  # the comment run was interrupted
                break
            closing = comments[j][1].strip()
            if closing.startswith(("}", "]")) or j == i:
                block = "\n".join(t for _, t in comments[i : j + 1])
                if lenient_json(block) is not None:
                    samples.append((number, block))
                    i = j
                    break
        i += 1
    return samples


def lenient_json(text: str) -> tuple[Any, str] | None:
    """Parse a JSON-like comment: (value, its JSON text) or None when it is not parseable."""
    match = re.search(r"[\[{]", text)
    if match is None:
        return None
    body = text[match.start() :]
    body = re.sub(r"//[^\n]*", "", body)
    body = re.sub(r"^\s*\.\.\..*$", "", body, flags=re.M)
    body = body.replace("'", '"')
    body = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', body)
    body = re.sub(r",(\s*[}\]])", r"\1", body)
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(body.strip())
    except ValueError:
        return None
    return value, _minify(body.strip()[:end])


def _minify(text: str) -> str:
    """The sample's own text without the whitespace between tokens (numbers keep their digits)."""
    return re.sub(r'\s+(?=(?:[^"]*"[^"]*")*[^"]*$)', "", text)


_HANDLERS = ("handle_trade", "parse_ws_trade", "parse_trade", "parse_public_trade")
"""Methods whose comments hold sample trade messages (``handle_*`` first: whole frames)."""


def candidates(exchange_id: str) -> list[dict[str, Any]]:
    """Parseable comment samples inside the exchange's ``handle_trade*`` methods."""
    path = Path(ccxtpro.__file__).parent / f"{exchange_id}.py"
    source = path.read_text().splitlines()
    found: list[dict[str, Any]] = []
    for node in ast.walk(ast.parse("\n".join(source))):
        if not isinstance(node, ast.FunctionDef):
            continue
        name = node.name
        if not name.startswith(_HANDLERS) or "my_trade" in name:
            continue
        end = node.end_lineno or node.lineno
        for line, block in _comment_blocks(source, node.lineno, end):
            parsed = lenient_json(block)
            if parsed is not None and isinstance(parsed[0], dict | list) and parsed[0]:
                found.append({"handler": name, "line": line, "frame": parsed[1]})
    return found


def main(ids: list[str]) -> None:
    for exchange_id in ids or ccxtpro.exchanges:
        found = candidates(exchange_id)
        print(f"== {exchange_id}: {len(found)}")
        for item in found:
            print(f"  {item['handler']}:{item['line']} {item['frame'][:600]}")


if __name__ == "__main__":
    main(sys.argv[1:])
