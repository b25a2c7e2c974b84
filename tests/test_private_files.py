"""Issue 17, part 3: nothing the robot writes is readable by another local user, whatever the umask.

Real commands (`run` of the reset with everything recorded, a failed `run`, `renew` with a roster, `accounts
create`) run under `umask 000`, in a folder everybody may enter; then every file and folder they wrote is
walked: no group or other bit anywhere. Another user (`nobody`, from a forked child: the tests run as root)
can neither open nor lock the lock files, nor read the log.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT, ROBOT, Portal

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
CAPTCHA_TOOL = PROJECT / "tests" / "mock_captcha.py"
DUE = "25300096600023"  # the first structure of tests/rosters/first_page.yaml: due within 30 days
UNMANAGED = "00000000000000"


def wide_robot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`chorus-robot ARGS` as a person with `umask 000` in their shell would run it."""
    return subprocess.run(
        [*ROBOT, *args], capture_output=True, text=True, cwd=PROJECT, timeout=300,
        env={**os.environ, **(env or {})}, umask=0,
    )  # fmt: skip


def readable_by_others(root: Path) -> list[str]:
    """Every file or folder under `root` (itself excluded) with a bit for its group or for everybody."""
    found = []
    for folder, names, files in os.walk(root):
        for name in [*names, *files]:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if not path.is_symlink() and mode & 0o077:
                found.append(f"{path.relative_to(root)} {mode & 0o777:o}")
    return found


def as_nobody(action) -> str:  # type: ignore[no-untyped-def]
    """Runs `action` in a forked child turned into `nobody`; what it says: « refused » or what it could do."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user (os.setuid)")
    nobody = pwd.getpwnam("nobody")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reader)
        try:
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            said = action()
        except PermissionError:
            said = "refused"
        except BaseException as exc:  # noqa: BLE001 - the parent asserts on what is said
            said = f"{type(exc).__name__}: {exc}"
        os.write(writer, said.encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as said:
        return said.read()


def lock_it(path: Path) -> str:
    descriptor = os.open(path, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    return "locked"


def read_it(path: Path) -> str:
    path.read_bytes()
    return "read"


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder everybody may enter (not pytest's own, 0700): only the robot's modes can keep others out."""
    folder = Path(tempfile.mkdtemp(prefix="chorus-perms-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def reset_args(portal: Portal, folder: Path, structure: str, *more: str) -> list[str]:
    return [
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
        "--vault", str(folder / "var" / "vault" / "technical-accounts.json"),
        "--journal", str(folder / "var" / "renewal" / "journal.sqlite"),
        "--recordings", str(folder / "recordings"), *more,
    ]  # fmt: skip


def test_a_recorded_reset_and_a_failed_run_under_umask_000_leave_nothing_readable(
    portal: Portal, syndicate: dict, open_folder: Path
):
    structure = portal.managed_by(syndicate["login"])[0]["identifiant"]
    done = wide_robot(*reset_args(portal, open_folder, structure, "--record", "all"))
    assert done.returncode == 0, done.stderr
    failed = wide_robot(*reset_args(portal, open_folder, UNMANAGED))
    assert failed.returncode != 0

    written = {p.name for p in open_folder.rglob("*")}
    for name in ["trace.zip", "video.webm", "procedure.html", "procedure.pdf", "steps.json", "technical-accounts.json",
                 "technical-accounts.json.lock", "journal.sqlite"]:  # fmt: skip
        assert name in written, f"{name} was not written: the walk below would prove nothing about it"
    assert any(name.endswith(".png") for name in written)
    assert len([p for p in (open_folder / "recordings").iterdir()]) == 2, "the failed run keeps its trace too"
    assert readable_by_others(open_folder) == []
    vault = open_folder / "var" / "vault"
    assert as_nobody(lambda: lock_it(vault / "technical-accounts.json.lock")) == "refused"
    vault.chmod(0o755)  # a person opens the folder by mistake: the lock file itself still keeps others out
    assert as_nobody(lambda: lock_it(vault / "technical-accounts.json.lock")) == "refused"
    assert as_nobody(lambda: read_it(vault / "technical-accounts.json")) == "refused"


def write_roster(folder: Path) -> Path:
    """One due structure of the syndicate, no delivery: the vault keeps the password."""
    roster = folder / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f'    password_env: SYNDICAT_PASSWORD\n    structures:\n      - identifiant: "{DUE}"\n',
        encoding="utf-8",
    )
    roster.chmod(0o644)  # the operator's own file: read, never rewritten
    return roster


def test_renew_under_umask_000_tightens_what_an_older_version_left_open(portal: Portal, open_folder: Path):
    syndicate = portal.biggest_account("dgfip")
    roster = write_roster(open_folder)
    renewal = open_folder / "var" / "renewal"
    (renewal / "logs").mkdir(parents=True)
    for folder in (open_folder / "var", renewal, renewal / "logs"):
        folder.chmod(0o755)
    old_log = renewal / "logs" / "renew.log"
    old_log.write_text("2025-01-01 une ligne d'une version précédente\n", encoding="utf-8")
    old_log.chmod(0o644)
    (renewal / "journal.sqlite.lock").touch(mode=0o644)
    reports = open_folder / "reports"

    done = wide_robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--journal", str(renewal / "journal.sqlite"), "--vault", str(open_folder / "var" / "vault" / "v.json"),
        "--log-file", str(old_log), "--report", str(reports / "renew.json"), "--junit", str(reports / "renew.xml"),
        env={"SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"]},
    )  # fmt: skip

    assert done.returncode in (0, 1), done.stderr
    assert portal.structure(DUE)["reset_count"] == 1, done.stderr
    assert "une version précédente" in old_log.read_text(encoding="utf-8"), "the log is appended to, not replaced"
    assert (reports / "renew.json").exists() and (reports / "renew.xml").exists()
    assert readable_by_others(open_folder) == ["var 755", "roster.yaml 644"]  # not the robot's: left as they were
    for folder in (renewal, renewal / "logs"):
        folder.chmod(0o755)  # a person opens the folders by mistake: the files themselves keep others out
    assert as_nobody(lambda: read_it(old_log)) == "refused"
    assert as_nobody(lambda: lock_it(renewal / "journal.sqlite.lock")) == "refused"
    assert as_nobody(lambda: read_it(renewal / "journal.sqlite")) == "refused"


def plant_lock(path: Path) -> Path:
    """A lock file another user made (in a folder that once let them), 0666: theirs to flock at will."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user (os.chown)")
    path.parent.mkdir(parents=True, mode=0o700)
    path.touch(mode=0o666)
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return path


def test_a_vault_lock_of_another_user_is_refused_before_the_portal_is_touched(
    portal: Portal, syndicate: dict, open_folder: Path
):
    planted = plant_lock(open_folder / "var" / "vault" / "technical-accounts.json.lock")

    done = wide_robot(*reset_args(portal, open_folder, DUE))

    assert done.returncode == 2, done.stderr
    assert f"verrou {planted}" in done.stderr and "appartient à un autre utilisateur" in done.stderr
    assert "Traceback" not in done.stderr
    assert portal.structure(DUE)["reset_count"] == 0


def test_a_journal_lock_of_another_user_is_refused_by_renew(portal: Portal, open_folder: Path):
    planted = plant_lock(open_folder / "var" / "renewal" / "journal.sqlite.lock")
    syndicate = portal.biggest_account("dgfip")

    done = wide_robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(write_roster(open_folder)),
        "--journal", str(planted.with_suffix("")), "--vault", str(open_folder / "v.json"), "--log-file", "-",
        env={"SYNDICAT_LOGIN": syndicate["login"], "SYNDICAT_PASSWORD": syndicate["password"]},
    )  # fmt: skip

    assert done.returncode == 2, done.stderr
    assert f"verrou {planted} impossible" in done.stderr and "appartient à un autre utilisateur" in done.stderr
    assert "erreur interne" not in done.stderr
    assert portal.structure(DUE)["reset_count"] == 0


@pytest.fixture
def mail_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="chorus-mail-"))
    yield folder / "Maildir"
    shutil.rmtree(folder, ignore_errors=True)


def test_accounts_create_under_umask_000_leaves_nothing_readable(portal: Portal, mail_dir: Path, open_folder: Path):
    portal.call("POST", "/__mock__/accounts", {"maildir": str(mail_dir)})
    users = open_folder / "users.csv"
    users.write_text("email;nom;prenom;siret;espaces\nperm@ex.fr;Arnaud;Anne;49931830000013;Factures émises\n",
                     encoding="utf-8")  # fmt: skip
    users.chmod(0o600)

    done = wide_robot(
        "accounts", "create", str(users), "--portal-url", portal.url, "--mailbox", f"maildir://{mail_dir}",
        "--captcha-command", f"{sys.executable} {CAPTCHA_TOOL} {portal.url}",
        "--vault", str(open_folder / "var" / "vault" / "user-accounts.json"),
        "--report", str(open_folder / "reports" / "accounts.json"), "--recordings", str(open_folder / "recordings"),
        "--mail-timeout", "15",
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    written = {p.name for p in open_folder.rglob("*")}
    assert {"accounts.json", "user-accounts.json", "user-accounts.json.lock"} <= written
    assert any(name.startswith("captcha-") for name in written), "the captcha image is kept: it is walked too"
    assert readable_by_others(open_folder) == []


def test_rotated_logs_are_private_even_without_the_command_s_umask(tmp_path: Path):
    """loguru opens each new log file itself (rotation): the opener makes it 0600 whatever the umask."""
    from loguru import logger

    from robots import logs

    folder = tmp_path / "logs"
    previous = os.umask(0)
    try:
        sink = logs.add_file(folder / "renew.log", rotation="200 B")
        for number in range(20):
            logger.bind(run="1").info("ligne {} d'une nuit assez longue pour tourner", number)
        logger.remove(sink)
    finally:
        os.umask(previous)
    files = sorted(folder.iterdir())
    assert len(files) > 2, "the log did not rotate: nothing proven about the rotated files"
    assert readable_by_others(tmp_path) == []


def test_shared_folders_are_never_narrowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from robots.support.private_files import private_folder

    monkeypatch.chdir(tmp_path)
    tmp_path.chmod(0o755)
    sticky = tmp_path / "shared"
    sticky.mkdir(mode=0o777)
    sticky.chmod(0o1777)
    old = tmp_path / "var"
    old.mkdir()
    old.chmod(0o755)

    for folder in (tmp_path, Path("."), sticky, old):
        private_folder(folder)

    assert tmp_path.stat().st_mode & 0o7777 == 0o755, "the current folder is the person's, not the robot's"
    assert sticky.stat().st_mode & 0o7777 == 0o1777
    assert old.stat().st_mode & 0o777 == 0o700, "a folder of the robot's left 0755 by an older version"
