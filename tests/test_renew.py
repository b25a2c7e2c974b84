"""Issue 3: the nightly renewal job (`chorus-robot renew`, `status`) against the mock portal.

The roster (tests/rosters/two_accounts.yaml) holds the DGFiP syndicate (its structures listed, e-mail
and command deliveries) and the company entering Chorus Pro directly (`structures: all`, a command).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser

from robots.browser import launch as chromium
from robots.integrations.api_check import technical_account_works
from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions, Shard, plan_night, units_of
from robots.jobs.renewal.roster import load_roster
from tests.conftest import DEMO_DATA, PROJECT, ROBOT, Portal, robot

ROSTER = PROJECT / "tests" / "rosters" / "two_accounts.yaml"
FIRST_PAGE = PROJECT / "tests" / "rosters" / "first_page.yaml"  # shorter: for the slower scenarios
IT_SERVICE = "informatique@syndicat.example.org"
ROSTER_FIRST = "25300096600023"
OPERATOR = "exploitation@syndicat.example.org"  # the first structure of the roster, due: it gets the queued passwords
WITHIN = 30
SLASHED = ["ab/cdEF12gh", "Zx9/Qw8Er7Ty"]
QUEUED = [*SLASHED, "CleanPass123"]  # the mock's own random passwords may hold « / » too


# ---------------------------------------------------------------- helpers


class Mailbox:
    """A real SMTP server on loopback (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@dataclass
class Night:
    """Everything a renew run reads and writes, in a folder of its own."""

    folder: Path
    portal: Portal
    smtp_port: int
    roster: Path = ROSTER

    @property
    def journal(self) -> Path:
        return self.folder / "journal.sqlite"

    @property
    def vault(self) -> Path:
        return self.folder / "vault.json"

    @property
    def log(self) -> Path:
        return self.folder / "renew.log"

    @property
    def captures(self) -> Path:
        path = self.folder / "hook"
        path.mkdir(exist_ok=True)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        syndicate, company = accounts(self.portal)
        return {
            "SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"],
            "SOCIETE_LOGIN": company["login"], "SOCIETE_PASSWORD": company["password"],
            "CHORUS_ROBOT_SMTP_HOST": "127.0.0.1", "CHORUS_ROBOT_SMTP_PORT": str(self.smtp_port),
            "CHORUS_ROBOT_SMTP_STARTTLS": "0", "CHORUS_ROBOT_SMTP_FROM": "robot@syndicat.example.org",
            "CAPTURE_DIR": str(self.captures), **piste_client(), **extra,
        }  # fmt: skip

    def args(self, name: str, *more: str) -> list[str]:
        return [
            "renew", "--env", "mock", "--portal-url", self.portal.url, "--roster", str(self.roster),
            "--within", str(WITHIN), "--journal", str(self.journal), "--vault", str(self.vault),
            "--log-file", str(self.log), "--report", str(self.folder / f"{name}.json"),
            "--junit", str(self.folder / f"{name}.xml"), *more,
        ]  # fmt: skip

    def renew(self, name: str, *more: str, **env: str) -> subprocess.CompletedProcess:
        return robot(*self.args(name, *more), env=self.env(**env))

    def report(self, name: str) -> dict:
        return json.loads((self.folder / f"{name}.json").read_text())

    def journal_passwords(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.journal) as db:
            rows = db.execute("SELECT identifiant, password FROM credentials WHERE password IS NOT NULL")
            return list(rows)

    def written(self) -> str:
        """Everything the runs wrote that a person or a CI server may read."""
        files = [self.log, *self.folder.glob("*.json"), *self.folder.glob("*.xml")]
        return "\n".join(f.read_text() for f in files if f.exists() and f != self.vault)


def piste_client() -> dict[str, str]:
    """The connector's PISTE client of the demo data: the API check needs a token, as the real one does."""
    piste = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))["piste"]
    return {"PISTE_CLIENT_ID": piste["client_id"], "PISTE_CLIENT_SECRET": piste["client_secret"]}


def accounts(portal: Portal) -> tuple[dict, dict]:
    return portal.biggest_account("dgfip"), portal.biggest_account("chorus")


def roster_structures(portal: Portal, roster: Path = ROSTER) -> list[dict]:
    syndicate, company = accounts(portal)
    if roster == FIRST_PAGE:
        listed = set(load_roster(roster).accounts[0].listed() or [])
        return [s for s in portal.managed_by(syndicate["login"]) if s["identifiant"] in listed]
    return portal.managed_by(syndicate["login"]) + portal.managed_by(company["login"])


def is_due(structure: dict, now: datetime) -> bool:
    expires = datetime.fromisoformat(structure["technical_user"]["expires_at"]).replace(tzinfo=None)
    return expires <= now + timedelta(days=WITHIN)


def secrets_of(portal: Portal, *more: str) -> list[str]:
    state = portal.state()
    passwords = [a["password"] for a in state["accounts"]]
    passwords += [s["technical_user"]["password"] for s in state["structures"] if s["reset_count"]]
    return [p for p in passwords + list(more) if p]


# ---------------------------------------------------------------- the night everything is due


@dataclass
class Scenario:
    night: Night
    before: list[dict]
    due: set[str]
    hook_fails_for: str
    first: subprocess.CompletedProcess
    after_first: dict
    passwords_kept_after_first: list[tuple[str, str]]
    second: subprocess.CompletedProcess
    after_second: dict
    status_json: dict
    status_text: str


@pytest.fixture(scope="module")
def scenario(mock_server: str, mailbox: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Run once: a renew where one hook fails, then the next night's renew (nothing due, the retry)."""
    portal = Portal(mock_server)
    portal.reset()
    mailbox[0].messages.clear()
    night = Night(tmp_path_factory.mktemp("night"), portal, mailbox[1])
    before = roster_structures(portal)
    due = {s["identifiant"] for s in before if is_due(s, datetime.now())}
    syndicate = portal.managed_by(accounts(portal)[0]["login"])
    syndicate_due = [s["identifiant"] for s in syndicate if s["identifiant"] in due]
    # The passwords in use before the night, as a previous run (or a person) left them in the vault.
    night.vault.write_text(json.dumps({s["identifiant"]: dict(s["technical_user"], expires_at=None) for s in before}))
    portal.next_passwords(QUEUED)
    first = night.renew("first", "--notify", OPERATOR, FAIL_FOR=syndicate_due[-1])
    after_first = portal.state()
    kept = night.journal_passwords()
    second = night.renew("second", "--notify", OPERATOR)
    status_json = robot("status", "--json", "--journal", str(night.journal), "--vault", str(night.vault))
    status_text = robot("status", "--journal", str(night.journal), "--vault", str(night.vault))
    assert status_json.returncode == 0, status_json.stderr
    return Scenario(
        night, before, due, syndicate_due[-1], first, after_first, kept, second, portal.state(),
        json.loads(status_json.stdout), status_text.stdout,
    )  # fmt: skip


def test_the_demo_roster_has_due_and_not_due_structures(scenario: Scenario):
    assert len(scenario.before) >= 12
    assert 2 <= len(scenario.due) < len(scenario.before)
    assert scenario.night.report("first")["roster"] == str(ROSTER)


def test_exactly_the_due_structures_are_renewed(scenario: Scenario):
    assert scenario.first.returncode == 1, scenario.first.stderr  # one hook failed
    reset = {s["identifiant"] for s in scenario.after_first["structures"] if s["reset_count"]}
    assert reset == scenario.due
    report = scenario.night.report("first")
    actions = {o["identifiant"]: o["action"] for o in report["outcomes"]}
    assert actions == {s["identifiant"]: "renewed" if s["identifiant"] in scenario.due else "skipped"
                       for s in scenario.before}  # fmt: skip
    resets = sum(s["reset_count"] for s in scenario.after_first["structures"])
    assert sum(o["attempts"] for o in report["outcomes"]) == resets >= len(scenario.due) + len(SLASHED)
    first_due = next(o for o in report["outcomes"] if o["identifiant"] == ROSTER_FIRST)
    assert first_due["attempts"] == len(QUEUED), "reset again while the password holds « / »"
    for outcome in report["outcomes"]:
        if outcome["action"] == "renewed":
            assert outcome["api_check"]["new_accepted"] is True
            assert datetime.fromisoformat(outcome["new_expiry"]) > datetime.now() + timedelta(days=360)
            assert outcome["technical_login"]


def test_the_vault_holds_what_the_portal_holds_and_the_api_accepts_it(scenario: Scenario):
    portal, vault = scenario.night.portal, scenario.night.vault
    state = {s["identifiant"]: s for s in scenario.after_second["structures"]}
    assert_vault_matches_portal_state(vault, state, {s["identifiant"] for s in scenario.before})
    entries = json.loads(vault.read_text())
    for identifiant in scenario.due:
        assert "/" not in entries[identifiant]["password"]
        assert technical_account_works(portal.url, entries[identifiant]["login"], entries[identifiant]["password"])
    for old in scenario.before:
        if old["identifiant"] in scenario.due:
            user = old["technical_user"]
            assert not technical_account_works(portal.url, user["login"], user["password"])
    renewed = [o for o in scenario.night.report("first")["outcomes"] if o["action"] == "renewed"]
    assert all(o["api_check"]["new_accepted"] is True and o["api_check"]["old_refused"] is True for o in renewed)
    assert all(o["api_check"]["result"] == "accepted" for o in renewed)


def assert_vault_matches_portal_state(vault: Path, state: dict[str, dict], identifiants: set[str]) -> None:
    entries = json.loads(vault.read_text())
    assert set(entries) == identifiants
    for identifiant in identifiants:
        user = state[identifiant]["technical_user"]
        assert entries[identifiant]["login"] == user["login"]
        assert entries[identifiant]["password"] == user["password"], identifiant
        expected = datetime.fromisoformat(user["expires_at"]).replace(tzinfo=None)
        assert datetime.fromisoformat(entries[identifiant]["expires_at"]) == expected


def test_structures_not_due_are_untouched(scenario: Scenario):
    untouched = [s for s in scenario.after_second["structures"] if s["identifiant"] not in scenario.due]
    assert all(s["reset_count"] == 0 for s in untouched)
    assert scenario.second.returncode == 0, scenario.second.stderr
    second = scenario.night.report("second")
    assert {o["action"] for o in second["outcomes"]} == {"skipped"}
    assert [s["reset_count"] for s in scenario.after_second["structures"]] == [
        s["reset_count"] for s in scenario.after_first["structures"]
    ]


def test_the_it_service_receives_each_new_password_by_email(scenario: Scenario, mailbox: tuple[Mailbox, int]):
    state = {s["identifiant"]: s for s in scenario.after_second["structures"]}
    syndicate = accounts(scenario.night.portal)[0]["login"]
    expected = {i for i in scenario.due if state[i]["manager"] == syndicate}
    messages = mailbox[0].to(IT_SERVICE)
    assert {m["Subject"].split("(")[-1].rstrip(")") for m in messages} == expected
    for message in messages:
        identifiant = message["Subject"].split("(")[-1].rstrip(")")
        user = state[identifiant]["technical_user"]
        body = message.get_content().replace("\r\n", "\n")
        assert user["password"] not in message["Subject"]
        assert f"Nouveau mot de passe : {user['password']}\n" in body
        assert user["login"] in body
        assert datetime.fromisoformat(user["expires_at"]).strftime("%d/%m/%Y") in body
        assert message["From"] == "robot@syndicat.example.org"
        assert message["Date"] and re.fullmatch(r"<.+@.+>", message["Message-ID"]), "every e-mail is dated and named"
        assert "télécharge les factures" in body, "no line break in the middle of a sentence"


def test_the_command_hook_gets_the_password_on_stdin_only(scenario: Scenario):
    state = {s["identifiant"]: s for s in scenario.after_second["structures"]}
    captured = {p.stem: json.loads(p.read_text()) for p in scenario.night.captures.glob("*.json")}
    assert set(captured) == scenario.due
    portal_passwords = [a["password"] for a in scenario.after_second["accounts"]]
    for identifiant, received in captured.items():
        user = state[identifiant]["technical_user"]
        assert received["stdin"] == user["password"] + "\n"
        assert received["env"]["CHORUS_STRUCTURE"] == identifiant
        assert received["env"]["CHORUS_TECHNICAL_LOGIN"] == user["login"]
        assert datetime.fromisoformat(received["env"]["CHORUS_EXPIRES_AT"]) == datetime.fromisoformat(
            user["expires_at"]
        ).replace(tzinfo=None)
        visible = json.dumps([received["argv"], received["env"]])
        for secret in [user["password"], *portal_passwords]:
            assert secret not in visible


def test_a_failed_delivery_is_reported_kept_and_retried_by_the_next_run(scenario: Scenario):
    failing = scenario.hook_fails_for
    first = {o["identifiant"]: o for o in scenario.night.report("first")["outcomes"]}
    results = {d["target"].split(":")[0]: d["result"] for d in first[failing]["deliveries"]}
    assert results == {"vault": "done", "email": "done", "command": "failed"}
    assert "terminée avec le code 1" in first[failing]["deliveries"][-1]["error"]
    assert [i for i, _ in scenario.passwords_kept_after_first] == [failing]
    told = [line for line in scenario.first.stderr.splitlines() if failing in line]
    assert len(told) == 1 and "livraison en échec" in told[0], scenario.first.stderr
    second = scenario.night.report("second")
    assert [r["identifiant"] for r in second["recovered"]] == [failing]
    assert {d["result"] for d in second["recovered"][0]["deliveries"]} == {"done"}
    assert scenario.night.journal_passwords() == []
    hook = json.loads((scenario.night.captures / f"{failing}.json").read_text())
    state = {s["identifiant"]: s for s in scenario.after_second["structures"]}
    assert hook["stdin"] == state[failing]["technical_user"]["password"] + "\n"


def test_the_operator_is_told_of_the_failure_and_only_then(scenario: Scenario, mailbox: tuple[Mailbox, int]):
    (summary,) = mailbox[0].to(OPERATOR)  # the second run went well: no second message
    body = summary.get_content()
    assert "1 structure(s) à voir" in summary["Subject"]
    assert scenario.hook_fails_for in body and "terminée avec le code 1" in body
    for secret in secrets_of(scenario.night.portal, *SLASHED):
        assert secret not in body


def test_the_console_says_one_line_per_structure_with_its_count(scenario: Scenario):
    console = scenario.first.stderr.splitlines()
    total = len(scenario.before)
    counted = [re.search(r" (\d+)/(\d+)(\+?) « .* : (renouvelée|rien à faire|en échec)", line) for line in console]
    counted = [c for c in counted if c]
    assert [int(c.group(1)) for c in counted] == list(range(1, total + 1)), scenario.first.stderr
    # The company takes « all » its structures: the total is known once its « Mes structures » is read.
    assert all(c.group(3) == "+" for c in counted[:-2]) and counted[-1].group(2, 3) == (str(total), "")
    assert len(console) <= total + 6, "the steps go to the log file only"
    assert not [line for line in console if "▶" in line]
    assert "▶ Confirmer la réinitialisation du mot de passe" in scenario.night.log.read_text(encoding="utf-8")
    assert scenario.first.stdout.count("\n") == 1, "the headline only: the structures were told one by one"


def test_the_operator_email_names_the_files_used_and_has_date_and_id(scenario: Scenario, mailbox):
    (summary,) = mailbox[0].to(OPERATOR)
    body = summary.get_content()
    assert summary["Date"] and re.fullmatch(r"<.+@.+>", summary["Message-ID"])
    assert str(scenario.night.journal) in body and str(scenario.night.log) in body
    assert "var/renewal/logs/renew.log" not in body
    assert "command:" in body and "«secret»" not in body.split("À traiter :")[1].split("Résumé")[0]
    assert body.count("terminée avec le code 1") == 2  # once to treat, once in the summary
    to_treat = body.split("À traiter :")[1].split("Résumé")[0]
    (hook,) = {d["target"] for o in scenario.night.report("first")["outcomes"] for d in o["deliveries"]
               if d["result"] == "failed"}  # fmt: skip
    assert to_treat.count(hook.removeprefix("command:")) == 1, "the hook's command said once"
    renewed = next(o for o in scenario.night.report("first")["outcomes"] if o["identifiant"] == scenario.hook_fails_for)
    new_expiry = datetime.fromisoformat(renewed["new_expiry"]).strftime("%d/%m/%Y")
    assert f"nouveau mot de passe, expire le {new_expiry}" in to_treat, "the expiry after the renewal, not before"


def test_junit_has_one_testcase_per_structure(scenario: Scenario):
    suite = ET.parse(scenario.night.folder / "first.xml").getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(scenario.before)
    failed = [c.get("name", "") for c in cases if c.find("failure") is not None]
    assert len(failed) == 1 and failed[0].startswith(scenario.hook_fails_for)
    assert sum(c.find("skipped") is not None for c in cases) == len(scenario.before) - len(scenario.due)


def test_no_password_in_logs_reports_or_junit(scenario: Scenario):
    secrets = secrets_of(scenario.night.portal, *SLASHED)
    shown = (
        scenario.night.written()
        + "".join(r.stdout + r.stderr for r in (scenario.first, scenario.second))
        + scenario.status_text
        + json.dumps(scenario.status_json)
    )
    assert "Confirmer la réinitialisation du mot de passe" in shown, "the steps are logged"
    for secret in secrets:
        assert secret not in shown


def test_status_lists_every_structure_with_its_expiry_and_last_run(scenario: Scenario):
    lines = {line["identifiant"]: line for line in scenario.status_json["structures"]}
    assert set(lines) == {s["identifiant"] for s in scenario.before}
    for identifiant in scenario.due:
        assert lines[identifiant]["days_left"] >= 360
        assert lines[identifiant]["last_result"] == "skipped"  # the second night
    assert all(line["raison_sociale"] and line["technical_login"] for line in lines.values())
    assert [r["result"] for r in scenario.status_json["runs"]] == ["ok", "failed"]
    for identifiant in scenario.due:
        assert identifiant in scenario.status_text


# ---------------------------------------------------------------- killed in the middle of the night


def test_a_run_killed_after_a_reset_loses_nothing_and_a_second_run_is_refused_meanwhile(
    portal: Portal, mailbox: tuple[Mailbox, int], tmp_path: Path
):
    night = Night(tmp_path, portal, mailbox[1], roster=FIRST_PAGE)
    before = roster_structures(portal, FIRST_PAGE)
    first = subprocess.Popen(
        [*ROBOT, *night.args("killed")], cwd=PROJECT, env={**os.environ, **night.env()},
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "killed.err").open("w"),
    )  # fmt: skip
    try:
        wait_for(lambda: str(first.pid) in lock_holder(night), "the first run to take the lock")
        refused = night.renew("refused")
        assert refused.returncode == 4, refused.stderr
        assert f"pid {first.pid}" in refused.stderr and socket.gethostname() in refused.stderr
        wait_for(lambda: any(s["reset_count"] for s in portal.state()["structures"]), "a reset", step=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()

    again = night.renew("again")

    assert again.returncode == 0, again.stderr
    due = {s["identifiant"] for s in before if is_due(s, datetime.now())}
    state = {s["identifiant"]: s for s in portal.state()["structures"]}
    assert {i for i, s in state.items() if s["reset_count"]} == due
    assert_vault_matches_portal_state(night.vault, state, due)
    captured = {p.stem: json.loads(p.read_text())["stdin"].strip() for p in night.captures.glob("*.json")}
    assert captured == {i: state[i]["technical_user"]["password"] for i in due}
    assert night.journal_passwords() == []
    assert night.report("again")["recovered"], "the second run says what it found"


def lock_holder(night: Night) -> str:
    lock = Path(str(night.journal) + ".lock")
    return lock.read_text() if lock.exists() else ""


def wait_for(condition: Any, what: str, timeout: float = 120, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- parallel, on a remote Chromium


@pytest.fixture
def remote_chromium(tmp_path: Path) -> Iterator[str]:
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [
            str(chromium.system_chromium()),
            "--remote-debugging-port=0",
            "--headless",
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip  (Debian's launcher is a shell script that does not exec: its group is what must end)
    try:
        port_file = profile / "DevToolsActivePort"
        wait_for(lambda: port_file.exists() and port_file.read_text().strip(), "Chromium's DevTools port", 30)
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def comparable(report: dict) -> list[tuple]:
    return [
        (o["account"], o["identifiant"], o["action"], o["raison_sociale"], o["technical_login"], o["days_left"],
         tuple((d["target"], d["result"]) for d in o["deliveries"]))
        for o in report["outcomes"]
    ]  # fmt: skip


def test_four_jobs_on_a_remote_chromium_give_the_same_result_as_one(
    scenario: Scenario, portal: Portal, mailbox: tuple[Mailbox, int], remote_chromium: str, tmp_path: Path
):
    night = Night(tmp_path, portal, mailbox[1])
    portal.next_passwords(QUEUED)

    done = night.renew(
        "jobs4", "--jobs", "4", "--browser-cdp", remote_chromium,
        FAIL_FOR=scenario.hook_fails_for, CHORUS_ROBOT_CHROMIUM="/nonexistent/chromium",  # no local browser
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    parallel, single = night.report("jobs4"), scenario.night.report("first")
    assert parallel["jobs"] == 4
    assert comparable(parallel) == comparable(single)
    resets = sum(s["reset_count"] for s in portal.state()["structures"])
    assert sum(o["attempts"] for o in parallel["outcomes"]) == resets >= len(scenario.due) + len(SLASHED)
    state = {s["identifiant"]: s for s in portal.state()["structures"]}
    assert_vault_matches_portal_state(night.vault, state, scenario.due)
    for secret in secrets_of(portal, *SLASHED):
        assert secret not in night.written() + done.stdout + done.stderr


# ---------------------------------------------------------------- in-process: dry run, shards, bad rosters


class CountingObserver:
    def __init__(self) -> None:
        self.labels: list[str] = []

    def before_step(self, ctx: Any, step: Any, target: Any) -> str:
        self.labels.append(step.title())
        return "run"

    def after_step(self, ctx: Any, step: Any, error: BaseException | None) -> None:
        pass


def test_dry_run_reads_and_reports_but_changes_nothing(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    night = Night(tmp_path, portal, smtp_port=9, roster=FIRST_PAGE)  # nothing may be sent: port 9 discards
    for name, value in night.env().items():
        monkeypatch.setenv(name, value)
    observer = CountingObserver()
    options = RenewOptions(
        roster_path=FIRST_PAGE, portal_url=portal.url, within_days=WITHIN, dry_run=True, vault_path=night.vault,
        observers=[observer],
    )  # fmt: skip

    report = run_renewal(options, Outputs(journal=night.journal, log_file=None), browser=browser)

    due = {s["identifiant"] for s in roster_structures(portal, FIRST_PAGE) if is_due(s, datetime.now())}
    assert len(due) == 3
    assert {o.identifiant for o in report.outcomes if o.action == "dry-run"} == due
    assert {o.action for o in report.outcomes} == {"dry-run", "skipped"}
    assert all(s["reset_count"] == 0 for s in portal.state()["structures"])
    assert not night.vault.exists()
    assert report.exit_code == 0
    assert "Cliquez sur « Réinitialiser le mot de passe (utilisateur technique) »" not in observer.labels
    assert observer.labels.count("Visualiser la date d'expiration du mot de passe") == len(report.outcomes)


def test_shards_split_the_structures_in_stable_disjoint_parts(portal: Portal, monkeypatch: pytest.MonkeyPatch):
    identifiants = [s["identifiant"] for s in portal.state()["structures"]]
    parts = [{i for i in identifiants if Shard(k, 3).holds(i)} for k in (1, 2, 3)]
    assert set().union(*parts) == set(identifiants)
    assert sum(len(p) for p in parts) == len(identifiants)
    assert all(parts), "every shard gets some of the demo structures"
    for name in ("SYNDICAT_LOGIN", "SYNDICAT_PASSWORD", "SOCIETE_LOGIN", "SOCIETE_PASSWORD"):
        monkeypatch.setenv(name, "x")
    listed = load_roster(ROSTER).accounts[0].listed() or []
    units, _ = units_of(plan_night(RenewOptions(roster_path=ROSTER, shard=Shard(2, 3), dry_run=True)))
    assert [i for u in units if u.identifiants for i in u.identifiants] == [i for i in listed if i in parts[1]]
    assert any(u.identifiants is None for u in units), "`structures: all` is sharded once listed"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("accounts:\n  - name: a\n    portal: dgfip\n    login_env: A\n    password_env: B\n"
         "    structures:\n      - identifiant: \"2530009660002\"\n", 7, "14 chiffres"),
        ("accounts:\n  - name: a\n    portal: dgfip\n    login_env: A\n    password_env: B\n"
         "    structures:\n      - identifiant: \"25300096600020\"\n", 7, "la clé de contrôle du SIRET est fausse"),
        ("accounts:\n  - name: a\n    portal: dgfip\n    login_env: A\n    password_env: B\n"
         "    structures:\n      - identifiant: \"25300096600023\"\n        deliver:\n          - mail: x@y.fr\n",
         9, "une livraison est {email: ADRESSE} ou {command:"),
        ("accounts:\n  - name: a\n    portal: cpp\n    login_env: A\n    password_env: B\n    structures: all\n",
         3, "'dgfip' or 'chorus'"),
        ("accounts:\n  - name: a\n    portal: dgfip\n    login_env: A\n    password_env: B\n    structures: all\n"
         "  - name: b\n    portal: chorus\n    portal: dgfip\n    login_env: C\n    password_env: D\n",
         9, "clé en double « portal »"),
    ],
)  # fmt: skip
def test_a_bad_roster_is_refused_with_file_and_line(tmp_path: Path, text: str, line: int, message: str):
    roster = tmp_path / "roster.yaml"
    roster.write_text(text)

    done = robot("renew", "--roster", str(roster), "--journal", str(tmp_path / "j.sqlite"), "--log-file", "-")

    assert done.returncode == 2, done.stderr
    assert f"{roster}:{line}" in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "j.sqlite").exists(), "nothing ran"


def test_missing_credentials_are_named_before_anything_runs(tmp_path: Path):
    env = {name: "" for name in ("SYNDICAT_LOGIN", "SYNDICAT_PASSWORD", "SOCIETE_LOGIN", "SOCIETE_PASSWORD")}

    done = robot("renew", "--roster", str(ROSTER), "--journal", str(tmp_path / "j.sqlite"), "--log-file", "-", env=env)

    assert done.returncode == 2
    assert "SYNDICAT_LOGIN" in done.stderr and "SOCIETE_PASSWORD" in done.stderr
    assert not (tmp_path / "j.sqlite").exists()
