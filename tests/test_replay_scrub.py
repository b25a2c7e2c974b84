"""Issue 4, scrubbing: every encoding of a secret leaves a recording, zip entries included."""

from __future__ import annotations

import base64
import json
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from robots.errors import BadInput
from robots.jobs.replay.recording import RecordOptions
from robots.jobs.replay.scrub import scrub_folder
from robots.secrets import MASK

SECRETS = ["Zx9/Qw8Er7&Ty", "syndic@example.fr"]


def every_form(value: str) -> list[bytes]:
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return [f.encode() for f in forms]


def test_a_trace_is_rewritten_without_any_form_of_the_secrets(tmp_path: Path):
    password, login = SECRETS
    form_body = f"identifiant={quote_plus(login)}&secret={quote_plus(password)}"
    action = {"type": "before", "method": "fill", "params": {"selector": "#secret", "value": password}}
    snapshot = {"type": "frame-snapshot", "html": ["INPUT", {"value": password}, f"&lt;{password}&gt;"]}
    network = {
        "request": {"postData": {"text": form_body}},
        "response": {
            "content": {
                "text": base64.b64encode(f'{{"motDePasse": "{password}"}}'.encode()).decode(),
                "encoding": "base64",
            }
        },
    }
    trace = tmp_path / "trace.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.trace", "\n".join(json.dumps(e) for e in (action, snapshot)) + "\n")
        archive.writestr("trace.network", json.dumps(network) + "\n")
        archive.writestr("resources/0a1b2c.html", f"<p>Le compte a été réinitialisé avec le mot de passe {password}")
        archive.writestr("resources/3d4e5f.json", json.dumps({"login": login}))
    (tmp_path / "run.log").write_text(f"secret={quote(password, safe='')}\n", encoding="utf-8")

    scrub_folder(tmp_path, SECRETS)

    with zipfile.ZipFile(trace) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    assert set(entries) == {"trace.trace", "trace.network", "resources/0a1b2c.html", "resources/3d4e5f.json"}
    for name, data in [*entries.items(), ("run.log", (tmp_path / "run.log").read_bytes())]:
        for value in SECRETS:
            assert not any(form in data for form in every_form(value)), (name, value)
    for line in entries["trace.trace"].decode().splitlines() + entries["trace.network"].decode().splitlines():
        json.loads(line)  # still a trace the viewer can read
    body = json.loads(entries["trace.network"])["response"]["content"]["text"]
    assert base64.b64decode(body).decode() == f'{{"motDePasse": "{MASK}"}}'
    assert json.loads(entries["trace.trace"].decode().splitlines()[0])["params"]["value"] == MASK


def test_a_numeric_code_is_masked_where_typed_but_timestamps_that_hold_its_digits_stay_numbers(tmp_path: Path):
    code = "482913"  # a second-factor code: six digits, which a trace's timestamps may hold by chance
    typed = {"type": "before", "callId": "call@7", "time": 1482913.38, "params": {"value": code}}
    logged = {"type": "log", "callId": "call@8", "time": 54829130.5, "message": f"code {code} saisi"}
    trace = tmp_path / "trace.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.trace", "\n".join(json.dumps(e) for e in (typed, logged)) + "\n")

    scrub_folder(tmp_path, [code])

    with zipfile.ZipFile(trace) as archive:
        events = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines() if line]
    assert [e["time"] for e in events] == [1482913.38, 54829130.5]
    assert events[0]["params"]["value"] == MASK
    assert events[1]["message"] == f"code {MASK} saisi"


def test_record_options_name_what_they_keep():
    assert RecordOptions.parse("trace, screenshots").kinds == {"trace", "screenshots"}
    assert RecordOptions.parse("all").kinds == {"trace", "video", "screenshots"}
    assert RecordOptions.parse(None).kinds == frozenset()
    with pytest.raises(BadInput, match=r"film inconnu \(au choix : trace, video, screenshots\)"):
        RecordOptions.parse("trace,film")
