"""Issue 17, part 1: the robot reads its secrets, and no child process — Playwright's driver, Chromium, ffmpeg,
a captcha command, a delivery hook — starts with them in its environment.

The runs are real `chorus-robot` processes in step mode: at every step the browser, the driver and ffmpeg are
alive, and `/proc/PID/environ` of every descendant is read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from robots import secrets
from robots.jobs.renewal.delivery import NewPassword, hook_environment
from robots.language.files import secret_variables
from tests.conftest import PROJECT, ROBOT, Portal, robot

PROMPT = re.compile(r"\[étape (\d+)\] (.+)$")
# Secrets under the names the robot knows (the pattern catches them), and one only `.env` gives.
OTHER_SECRETS = {
    "SIAGEP_PASSWORD": "Siagep-Secret-4121",
    "CHORUS_PASSWORD": "Chorus-Secret-4232",
    "CHORUS_ROBOT_IMAP_PASSWORD": "Imap-Secret-4343",
    "CHORUS_TOTP_SECRET": "JBSWY3DPEHPK3PXP",
    "PISTE_CLIENT_SECRET": "Piste-Secret-4454",
    "CHORUS_ROBOT_VAULT_KEY": "AGE-SECRET-KEY-1NOTAREALKEYATALL",
}
# `.env`: a secret-looking name, and one only `.env` says is a secret.
DOTENV = {"CHORUS_ROBOT_SMTP_PASSWORD": "Dotenv-Secret-4565", "EXTRANET_ACCES": "Dotenv-Other-4676"}


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from the parent pid in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, waiting = [], [pid]
    while waiting:
        below = children.get(waiting.pop(), [])
        found += below
        waiting += below
    return found


def environ_of(pid: int) -> tuple[str, str] | None:
    """The command line and environment of a process (None when it ended meanwhile)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        return command, Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return None


class Inspector:
    """Reads the environment of every descendant of the robot; remembers what ran and what leaked."""

    def __init__(self, secret_values: list[str]) -> None:
        self.secret_values = secret_values
        self.commands: set[str] = set()
        self.leaks: set[str] = set()

    def look(self, robot_pid: int) -> None:
        for pid in descendants(robot_pid):
            seen = environ_of(pid)
            if seen is None:
                continue
            command, environ = seen
            self.commands.add(command)
            self.leaks |= {f"{command[:60]}… holds {value}" for value in self.secret_values if value in environ}

    def saw(self, word: str) -> bool:
        return any(word in command for command in self.commands)


def step_through(args: list[str], env: dict[str, str], cwd: Path, inspector: Inspector) -> tuple[int, str]:
    """Runs the robot in step mode; at every step, the inspector looks at its descendants, then Enter."""
    process = subprocess.Popen(
        [*ROBOT, *args, "--step"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", cwd=cwd, env={**os.environ, "PYTHONIOENCODING": "utf-8", **env},
    )  # fmt: skip
    watchdog = threading.Timer(240, process.kill)
    watchdog.start()
    output = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if PROMPT.search(line):
                inspector.look(process.pid)
                process.stdin.write("\n")  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
        return process.wait(timeout=60), "".join(output)
    finally:
        watchdog.cancel()


def with_dotenv(folder: Path) -> Path:
    (folder / ".env").write_text("".join(f"{name}={value}\n" for name, value in DOTENV.items()), encoding="utf-8")
    return folder


def test_run_starts_the_driver_chromium_and_ffmpeg_without_any_secret(portal: Portal, syndicate: dict, tmp_path: Path):
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    vault = tmp_path / "vault.json"
    secret_values = [syndicate["login"], syndicate["password"], *OTHER_SECRETS.values(), *DOTENV.values()]
    inspector = Inspector(secret_values)

    code, said = step_through(
        ["run", str(PROJECT / "flows" / "reset_technical_password.yaml"), "--portal-url", portal.url,
         "--var", f"structure={structure}", "--vault", str(vault), "--record", "video",
         "--recordings", str(tmp_path / "recordings")],
        OTHER_SECRETS, with_dotenv(tmp_path), inspector,
    )  # fmt: skip

    assert code == 0, said
    assert structure in json.loads(vault.read_text(encoding="utf-8")), "the robot itself still had its secrets"
    assert inspector.saw("run-driver") and inspector.saw("chrom") and inspector.saw("ffmpeg"), inspector.commands
    assert inspector.leaks == set()


def test_renew_keeps_the_roster_s_credentials_from_every_child_and_from_the_hook(
    portal: Portal, syndicate: dict, tmp_path: Path
):
    soon = (datetime.now() + timedelta(days=30)).isoformat()
    due = next(s for s in portal.managed_by(syndicate["login"]) if s["technical_user"]["expires_at"] < soon)
    hook_output = tmp_path / "hook-env.json"
    hook = tmp_path / "hook.py"
    hook.write_text(
        "import json, os, sys\nsys.stdin.read()\n"
        f"open({str(hook_output)!r}, 'w').write(json.dumps(dict(os.environ)))\n",
        encoding="utf-8",
    )
    roster = tmp_path / "roster.yaml"
    # Names no pattern recognises: only the roster says they are credentials.
    roster.write_text(
        "accounts:\n  - name: syndicat\n    portal: dgfip\n    login_env: SYNDICAT_IDENTITE\n"
        "    password_env: SYNDICAT_ACCES\n"
        f'    deliver: [{{command: ["{sys.executable}", "{hook}"]}}]\n'
        f'    structures:\n      - identifiant: "{due["identifiant"]}"\n',
        encoding="utf-8",
    )
    env = {**OTHER_SECRETS, "SYNDICAT_IDENTITE": syndicate["login"], "SYNDICAT_ACCES": syndicate["password"]}
    secret_values = [syndicate["login"], syndicate["password"], *OTHER_SECRETS.values(), *DOTENV.values()]
    inspector = Inspector(secret_values)

    code, said = step_through(
        ["renew", "--portal-url", portal.url, "--roster", str(roster), "--journal", str(tmp_path / "journal.sqlite"),
         "--vault", str(tmp_path / "vault.json"), "--log-file", "-"],
        env, with_dotenv(tmp_path), inspector,
    )  # fmt: skip

    assert code == 0, said
    assert portal.structure(due["identifiant"])["reset_count"] >= 1  # again while it held « / »
    assert inspector.saw("run-driver") and inspector.saw("chrom"), inspector.commands
    assert inspector.leaks == set()
    received = json.loads(hook_output.read_text(encoding="utf-8"))
    assert received["CHORUS_STRUCTURE"] == due["identifiant"] and received["PATH"]
    assert not [name for name, value in received.items() if value in secret_values]


def test_a_captcha_command_receives_no_secret(portal: Portal, tmp_path: Path):
    maildir = tmp_path / "Maildir"
    portal.call("POST", "/__mock__/accounts", {"maildir": str(maildir)})
    seen = tmp_path / "captcha-env.json"
    tool = tmp_path / "captcha.py"
    tool.write_text(
        "import json, os, sys, urllib.request\n"
        "open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)))\n"
        "print(json.load(urllib.request.urlopen(sys.argv[2] + '/__mock__/captcha'))['answer'])\n",
        encoding="utf-8",
    )
    users = tmp_path / "users.csv"
    users.write_text("email;nom;prenom;siret\nenv@ex.fr;Arnaud;Anne;49931830000013\n", encoding="utf-8")

    done = robot(
        "accounts", "create", str(users), "--portal-url", portal.url, "--mailbox", f"maildir://{maildir}",
        "--captcha-command", f"{sys.executable} {tool} {seen} {portal.url}", "--vault", str(tmp_path / "v.json"),
        "--recordings", str(tmp_path / "recordings"), "--mail-timeout", "15",
        env=OTHER_SECRETS, cwd=with_dotenv(tmp_path),
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    received = json.loads(seen.read_text(encoding="utf-8"))
    assert received["PATH"] and received["HOME"]
    assert not [name for name, value in received.items() if value in [*OTHER_SECRETS.values(), *DOTENV.values()]]
    assert not [name for name in received if name in OTHER_SECRETS or name in DOTENV]


# ---------------------------------------------------------------- the mechanism, in this process


@pytest.fixture
def sealed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIAGEP_PASSWORD", "Siagep-Secret-4121")
    monkeypatch.setenv("PORTAIL_ACCES", "Acces-Secret-9876")
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", "/opt/pw")
    with secrets.sealed_environment():
        yield
    assert os.environ["SIAGEP_PASSWORD"] == "Siagep-Secret-4121", "given back when the command ends"
    assert os.environ["PORTAIL_ACCES"] == "Acces-Secret-9876"


def test_inside_the_seal_secrets_leave_os_environ_but_the_robot_still_finds_them(sealed: None):
    assert "SIAGEP_PASSWORD" not in os.environ and secrets.ENVIRON["SIAGEP_PASSWORD"] == "Siagep-Secret-4121"
    assert os.environ["PORTAIL_ACCES"] == "Acces-Secret-9876", "not a secret until something names it"
    secrets.withhold(["PORTAIL_ACCES"])
    assert "PORTAIL_ACCES" not in os.environ and secrets.ENVIRON.get("PORTAIL_ACCES") == "Acces-Secret-9876"
    assert os.environ["LANG"] == "fr_FR.UTF-8" and os.environ["PLAYWRIGHT_BROWSERS_PATH"] == "/opt/pw"
    assert os.environ["PATH"] and os.environ["HOME"]


def test_a_flow_s_secrets_and_its_sub_flows_are_named_before_a_browser_starts(tmp_path: Path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "login.yaml").write_text(
        "name: login\nsecrets:\n  code: {env: PORTAIL_ACCES}\nsteps:\n  - log: connexion\n", encoding="utf-8"
    )
    (tmp_path / "main.yaml").write_text(
        "name: main\nsteps:\n  - if:\n      when: {var: x, equals: 'y'}\n      then:\n"
        "        - call: {flow: common/login.yaml}\n",
        encoding="utf-8",
    )
    assert secret_variables(tmp_path / "main.yaml") == {"PORTAIL_ACCES"}
    assert {"DGFIP_LOGIN", "DGFIP_PASSWORD"} <= secret_variables(PROJECT / "flows" / "reset_technical_password.yaml")


def test_a_child_environment_holds_no_secret_name_nor_value():
    secrets.REDACTOR.add("Known-Value-5150")
    child = secrets.child_environment(
        {"PATH": "/usr/bin", "HTTPS_PROXY": "http://proxy:3128", "MY_API_TOKEN": "t0k3n-xyz",
         "COPY": "Known-Value-5150", "ASSOCIATION_MDP": "mdp-associatif", "DISPLAY": ":0", "OLDPWD": "/tmp"},
        hidden_values=["Fresh-Password-1"],
    )  # fmt: skip
    assert child == {"PATH": "/usr/bin", "HTTPS_PROXY": "http://proxy:3128", "DISPLAY": ":0", "OLDPWD": "/tmp"}
    hook = hook_environment(NewPassword("1", "TECH", "Fresh-Password-1", None), {"X": "Fresh-Password-1", "A": "b"})
    assert "X" not in hook and hook["A"] == "b"


def test_everything_dot_env_gives_is_a_secret_but_the_robot_s_own_settings(tmp_path: Path):
    (tmp_path / ".env").write_text("EXTRANET_ACCES=Dotenv-Other-4676\nCHORUS_ROBOT_MAILBOX=maildir:///srv/mail\n")
    try:
        with secrets.sealed_environment():
            secrets.load_env_file(tmp_path / ".env")
            assert "EXTRANET_ACCES" not in os.environ and secrets.ENVIRON["EXTRANET_ACCES"] == "Dotenv-Other-4676"
            assert os.environ["CHORUS_ROBOT_MAILBOX"] == "maildir:///srv/mail"
    finally:
        for name in ("EXTRANET_ACCES", "CHORUS_ROBOT_MAILBOX"):
            os.environ.pop(name, None)
