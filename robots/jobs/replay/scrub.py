"""Scrubbing secrets out of recorded files: text, JSON, HTML, URL-encoded forms, base64, zip entries.

A Playwright trace holds the values typed (action parameters), the DOM (snapshots: input values,
texts) and the network (form bodies, JSON responses), each in its own encoding; every form of
every secret is replaced by the mask before the run ends.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

from robots.secrets import MASK, REDACTOR

_BASE64_TOKEN = re.compile(rb"[A-Za-z0-9+/_-]{12,}={0,2}")
# Playwright's own logs: one JSON event per line, where a short numeric secret (a second-factor code) may
# match the digits of a timestamp; only their strings are scrubbed, so every line stays valid JSON.
_JSON_LINES_SUFFIXES = {".trace", ".network", ".stacks"}
_TEXT_SUFFIXES = {".log", ".json", ".html", ".htm", ".txt", ".md", ".trace", ".network", ".stacks", ".csv", ".xml"}


def secret_forms(values: Iterable[str]) -> list[bytes]:
    """Each secret as it may be written: raw, URL-encoded, JSON- and HTML-escaped; longest first."""
    forms: set[str] = set()
    for value in values:
        forms |= {
            value, quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/"),
            json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value),
            html.escape(value, quote=False), json.dumps(json.dumps(value)[1:-1])[1:-1],
        }  # fmt: skip
    return sorted((f.encode() for f in forms if f), key=len, reverse=True)


def scrub_bytes(data: bytes, forms: list[bytes], *, text: bool) -> bytes:
    """Text: every form replaced by the mask, base64 tokens decoded and scrubbed too.

    Binary (images, video): a same-length overwrite, so the file stays readable.
    """
    if not forms:
        return data
    if not text:
        for form in forms:
            data = data.replace(form, b"*" * len(form))
        return data
    mask = MASK.encode()
    for form in forms:
        data = data.replace(form, mask)
    return _BASE64_TOKEN.sub(lambda m: _scrub_base64(m.group(0), forms), data)


def scrub_json_lines(data: bytes, forms: list[bytes]) -> bytes:
    """Each line that is JSON: its strings scrubbed, its numbers and keys untouched; other lines as text."""
    if not forms:
        return data
    lines = data.split(b"\n")
    for index, line in enumerate(lines):
        if not any(form in line for form in forms) and not _BASE64_TOKEN.search(line):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            lines[index] = scrub_bytes(line, forms, text=True)
            continue
        scrubbed = _scrub_strings(event, forms)
        if scrubbed != event:
            lines[index] = json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")).encode()
    return b"\n".join(lines)


def _scrub_strings(value: object, forms: list[bytes]) -> object:
    if isinstance(value, str):
        return scrub_bytes(value.encode("utf-8", "surrogatepass"), forms, text=True).decode("utf-8", "surrogatepass")
    if isinstance(value, dict):
        return {key: _scrub_strings(item, forms) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_strings(item, forms) for item in value]
    return value


def _scrub_text_file(name: str, data: bytes, forms: list[bytes]) -> bytes:
    if Path(name).suffix.lower() in _JSON_LINES_SUFFIXES:
        return scrub_json_lines(data, forms)
    return scrub_bytes(data, forms, text=_is_text(name, data))


def _scrub_base64(token: bytes, forms: list[bytes]) -> bytes:
    for decode, encode in ((base64.b64decode, base64.b64encode), (base64.urlsafe_b64decode, base64.urlsafe_b64encode)):
        try:
            decoded = decode(token + b"=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            continue
        if any(form in decoded for form in forms):
            return encode(scrub_bytes(decoded, forms, text=_looks_textual(decoded)))
    return token


def _looks_textual(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_text(name: str, data: bytes) -> bool:
    return Path(name).suffix.lower() in _TEXT_SUFFIXES or _looks_textual(data)


def scrub_zip(path: Path, forms: list[bytes]) -> None:
    """Rewrites every entry of the zip (a Playwright trace) without any secret."""
    tmp = path.with_name(path.name + ".scrubbing")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".zip"):
                data = _scrub_nested_zip(data, forms)
            else:
                data = _scrub_text_file(info.filename, data, forms)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    os.replace(tmp, path)


def _scrub_nested_zip(data: bytes, forms: list[bytes]) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as handle:
        handle.write(data)
    nested = Path(handle.name)
    try:
        scrub_zip(nested, forms)
        return nested.read_bytes()
    except zipfile.BadZipFile:
        return scrub_bytes(data, forms, text=False)
    finally:
        nested.unlink(missing_ok=True)


def scrub_file(path: Path, forms: list[bytes]) -> None:
    if path.suffix.lower() == ".zip":
        scrub_zip(path, forms)
        return
    data = path.read_bytes()
    scrubbed = _scrub_text_file(path.name, data, forms)
    if scrubbed != data:
        path.write_bytes(scrubbed)


def scrub_folder(folder: Path, values: Iterable[str] | None = None) -> None:
    """Every file under the folder, zip entries included, without the secrets the process knows."""
    forms = secret_forms(REDACTOR.values if values is None else values)
    if not forms:
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        scrub_file(path, forms)
