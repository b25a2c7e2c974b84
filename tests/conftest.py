"""Shared fixtures: one Chromium per session, the mock portal on a free port, a context per test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Playwright

from robots.browser import launch as chromium

PROJECT = Path(__file__).resolve().parent.parent
DEMO_DATA = PROJECT / "fixtures" / "demo-portal.yaml"
ROBOT = [sys.executable, "-m", "robots.cli"]
ROWS_PER_PAGE = 5


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, playwright: Playwright) -> dict:
    executable = chromium.chromium_executable(playwright)
    args = {**browser_type_launch_args, "args": chromium.LAUNCH_ARGS}
    if executable:
        args["executable_path"] = str(executable)
    return args


@dataclass
class Portal:
    url: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def state(self) -> dict:
        return self.call("GET", "/__mock__/state")

    def data(self) -> dict:
        """What the portal holds (its state but the count of pages it served): what « changes nothing » compares."""
        return {key: value for key, value in self.state().items() if key != "pages_served"}

    def reset(self) -> None:
        self.call("POST", "/__mock__/reset", {})

    def next_passwords(self, passwords: list[str]) -> None:
        self.call("POST", "/__mock__/next-passwords", passwords)

    def structure(self, identifiant: str) -> dict:
        return next(s for s in self.state()["structures"] if s["identifiant"] == identifiant)

    def account(self, login: str) -> dict:
        return next(a for a in self.state()["accounts"] if a["login"] == login)

    def managed_by(self, login: str) -> list[dict]:
        """The account's structures in the order « Mes structures » lists them."""
        return [s for s in self.state()["structures"] if s["manager"] == login]

    def biggest_account(self, portal: str) -> dict:
        accounts = [a for a in self.state()["accounts"] if a["portal"] == portal]
        return max(accounts, key=lambda a: len(self.managed_by(a["login"])))


@pytest.fixture(autouse=True)
def private_var(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's default vault and journal live in a folder of its own, never in the project's var/: a test
    that leaves a password or a sealed page there cannot change what another test's run does."""
    folder = tmp_path_factory.mktemp("var")
    config = yaml.safe_load((PROJECT / "config" / "robot.yaml").read_text(encoding="utf-8"))
    config["settings"].update(vault=str(folder / "vault.json"), journal=str(folder / "journal.sqlite"))
    config["settings"]["retry_backoff_s"] = 0.05  # a fault of the portal ridden through without waiting
    path = folder / "robot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CHORUS_ROBOT_CONFIG", str(path))
    return folder


IMPATIENT_S = 4


@pytest.fixture
def impatient(private_var: Path) -> float:
    """For a test whose robot must wait in vain (a password the page never shows as the catalogue expects): the
    default robot settings' 15 s wait becomes 4 s, far above what a page of the mock takes to show."""
    path = private_var / "robot.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["settings"]["timeout_s"] = IMPATIENT_S
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return IMPATIENT_S


@pytest.fixture(scope="session")
def mock_server() -> Iterator[str]:
    from fixtures.mock_portal import MockPortalServer

    # The seeds' portal (a test switches); random passwords without « / », so that a test counting resets does not
    # depend on chance: a test of the « / » rule queues its passwords (Portal.next_passwords).
    with MockPortalServer(DEMO_DATA, generation="legacy", random_slashes=False) as server:
        yield server.url


@pytest.fixture(scope="session")
def imap_server() -> Iterator[Any]:
    """One private Dovecot on loopback for the whole session (tests/dovecot.py); each test uses its own user.

    Its folder is not under pytest's basetemp: a concurrent pytest run may prune that while Dovecot serves it."""
    from tests.dovecot import dovecot

    folder = Path(tempfile.mkdtemp(prefix="chorus-dovecot-"))
    try:
        with dovecot(folder) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def portal(mock_server: str) -> Portal:
    portal = Portal(mock_server)
    portal.reset()
    return portal


@pytest.fixture
def services(portal: Portal) -> Portal:
    """The mock serving the « portail de services » for this test (a reset brings back the legacy one)."""
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    return portal


def logged_in_as(portal: Portal, entry: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The account of that entry managing the most structures, its login and password in ENTRY_LOGIN/_PASSWORD."""
    account = portal.biggest_account(entry)
    monkeypatch.setenv(f"{entry.upper()}_LOGIN", account["login"])
    monkeypatch.setenv(f"{entry.upper()}_PASSWORD", account["password"])
    return account


@pytest.fixture
def company(services: Portal, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The account entering Chorus Pro directly (through the identity provider on this generation)."""
    return logged_in_as(services, "chorus", monkeypatch)


@pytest.fixture
def syndicate(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The DGFiP account managing the most structures, logged in through DGFIP_LOGIN/DGFIP_PASSWORD."""
    return logged_in_as(portal, "dgfip", monkeypatch)


def robot(*args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT) -> subprocess.CompletedProcess:
    """`chorus-robot ARGS` in a child process, as a person would run it."""
    return subprocess.run(
        [*ROBOT, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
