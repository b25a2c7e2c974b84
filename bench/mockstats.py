"""What the benchmarks share: the mock's control API, the time it spends on pages, clean passwords."""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from fixtures.mock_portal import MockPortalServer


def call(url: str, method: str = "GET", body: object = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def clean_passwords(count: int) -> list[str]:
    """Passwords without « / », so that every run resets exactly once (no random retries in a benchmark)."""
    alphabet = string.ascii_letters + string.digits
    return ["".join(secrets.choice(alphabet) for _ in range(12)) for _ in range(count)]


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


class PageTimes:
    """Sums the time the mock spends answering browser requests (its latency included), control API excluded."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app, self.lock, self.seconds, self.count = app, threading.Lock(), 0.0, 0

    @classmethod
    def install(cls, server: MockPortalServer) -> PageTimes:
        times = cls(server.app.wsgi_app)
        server.app.wsgi_app = times  # type: ignore[method-assign]
        return times

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return list(self.app(environ, start_response))
        finally:
            if not environ.get("PATH_INFO", "").startswith("/__mock__/"):
                with self.lock:
                    self.seconds += time.perf_counter() - started
                    self.count += 1

    def clear(self) -> None:
        with self.lock:
            self.seconds, self.count = 0.0, 0

    def total(self) -> float:
        return self.seconds


def pages_by_kind(runs: dict[str, tuple[dict[str, Any], int]]) -> str:
    """A table of the HTML pages served per structure, one column per run, one row per kind of page (the mock's
    `pages_served`, fixtures/mock_portal/pages_served.py), total first."""
    names = list(runs)
    kinds = sorted({k for served, _ in runs.values() for k in served["by_kind"]},
                   key=lambda k: -max(s["by_kind"].get(k, 0) for s, _ in runs.values()))  # fmt: skip

    def cell(name: str, count: float) -> str:
        return f"{count / max(1, runs[name][1]):.2f}"

    lines = ["| page | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines.append("| **total** | " + " | ".join(f"**{cell(n, runs[n][0]['total'])}**" for n in names) + " |")
    for kind in kinds:
        lines.append(f"| `{kind}` | " + " | ".join(cell(n, runs[n][0]["by_kind"].get(kind, 0)) for n in names) + " |")
    lines.append("| (redirections, not pages) | " + " | ".join(cell(n, runs[n][0]["redirects"]) for n in names) + " |")
    return "\n".join(lines)
