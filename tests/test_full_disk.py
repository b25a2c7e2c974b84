"""Issue 17: a full or read-only disk under the journal or the vault is « stockage en échec », never « erreur
interne »: exit 1, a message saying where every new password is (vault, journal, rescue file — the true one), and
`renew` goes on with the other structures when the vault can still keep their passwords, or resets nothing more.

The disk is a small tmpfs mounted by the test (root only: skipped elsewhere, with the reason). It is filled (or
remounted read-only) at an exact moment of a reset by the product's crash points (robots/store/crash_points.py):
with CHORUS_ROBOT_CRASH_DISK set, the point named by CHORUS_ROBOT_CRASH_AT breaks the disk instead of killing.
Each test then reads the password back from where the message says it is, and compares it with the portal's.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from robots.errors import JournalWriteFailed, VaultWriteFailed
from robots.store.crash_points import DISK_ENV, ENV
from robots.store.journal import Journal
from tests.conftest import PROJECT, Portal, robot
from tests.test_renew_crash import DUE, environment, write_roster

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
CLEAN = ["Clean4Disk1x", "Clean4Disk2y", "Clean4Disk3z"]  # no « / »: one reset per structure
BREAK_DISK = "from robots.store.crash_points import break_disk; import sys; break_disk(sys.argv[1])"


@pytest.fixture
def disk(tmp_path: Path, portal: Portal) -> Iterator[Path]:
    """A 2 MB tmpfs of the test's own, unmounted afterwards (and the portal's next passwords without « / »)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    portal.next_passwords(CLEAN)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"monter un tmpfs demande root (CAP_SYS_ADMIN) : {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def robot_with_broken_disk(
    args: list[str], point: str, spec: str, extra: dict[str, str]
) -> subprocess.CompletedProcess:
    return robot(*args, env={ENV: point, DISK_ENV: spec, **extra})


def renew(
    portal: Portal, folder: Path, journal: Path, vault: Path, point: str, spec: str, *more: str
) -> subprocess.CompletedProcess:
    args = [
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(folder / "roster.yaml"),
        "--within", "30", "--journal", str(journal), "--vault", str(vault), "--report", str(folder / "report.json"),
        "--log-file", str(folder / "renew.log"), *more,
    ]  # fmt: skip
    extra = {**environment(portal, folder), "CHORUS_ROBOT_RESCUE_DIR": str(folder / "rescue")}
    return robot_with_broken_disk(args, point, spec, extra)


def run(portal: Portal, folder: Path, structure: str, journal: Path, vault: Path, point: str, spec: str):  # noqa: ANN201
    args = [
        "run", str(FLOW), "--env", "mock", "--portal-url", portal.url, "--var", f"structure={structure}",
        "--vault", str(vault), "--journal", str(journal),
    ]  # fmt: skip
    syndicate = portal.biggest_account("dgfip")
    extra = {"DGFIP_LOGIN": syndicate["login"], "DGFIP_PASSWORD": syndicate["password"],
             "CHORUS_ROBOT_RESCUE_DIR": str(folder / "rescue")}  # fmt: skip
    return robot_with_broken_disk(args, point, spec, extra)


def password_on_portal(portal: Portal, structure: str) -> str:
    return portal.structure(structure)["technical_user"]["password"]


def vault_password(vault: Path, structure: str) -> str | None:
    return json.loads(vault.read_text(encoding="utf-8")).get(structure, {}).get("password")


def journal_password(journal: Path, structure: str) -> str | None:
    with sqlite3.connect(journal) as db:
        row = db.execute("SELECT password FROM credentials WHERE identifiant = ? ORDER BY id DESC LIMIT 1",
                         (structure,)).fetchone()  # fmt: skip
    return row[0] if row else None


def rescued(folder: Path, structure: str) -> tuple[Path, dict]:
    files = sorted((folder / "rescue").glob(f"{structure}-*.json"))
    assert len(files) == 1, files
    return files[0], json.loads(files[0].read_text(encoding="utf-8"))


def assert_named_failure(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 1, done.stderr[-3000:]
    assert "stockage en échec" in done.stderr.lower(), done.stderr[-3000:]
    assert "erreur interne" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]


# ---------------------------------------------------------------- renew


@pytest.mark.parametrize(
    "point", ["before-reset-requested", "before-journal", "after-journal-commit", "after-vault-write",
              "during-delivery"],
)  # fmt: skip
def test_renew_with_the_journal_disk_full_at_each_write_goes_on_with_the_vault(
    portal: Portal, tmp_path: Path, disk: Path, point: str
):
    write_roster(tmp_path, DUE)
    (tmp_path / "hook").mkdir()
    journal, vault = disk / "journal.sqlite", tmp_path / "vault.json"

    done = renew(portal, tmp_path, journal, vault, point, f"full:{disk}")

    assert_named_failure(done)
    assert "database or disk is full" in done.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == 1 and report["storage_failure"]
    for identifiant in DUE:  # the first one and the other one: both renewed, once, kept, delivered
        live = password_on_portal(portal, identifiant)
        assert portal.structure(identifiant)["reset_count"] == 1, identifiant
        assert vault_password(vault, identifiant) == live, f"{point}: {identifiant} not in the vault"
        delivered = json.loads((tmp_path / "hook" / f"{identifiant}.json").read_text(encoding="utf-8"))
        assert delivered["stdin"].strip() == live, f"{point}: {identifiant} not delivered"
        assert f"structure {identifiant} : dans le coffre {vault}" in done.stderr, done.stderr[-3000:]
    assert {o["action"] for o in report["outcomes"]} == {"renewed"}
    assert "Traceback" not in (tmp_path / "renew.log").read_text(encoding="utf-8")


def test_renew_with_journal_and_vault_on_one_full_disk_rescues_the_password_and_resets_nothing_more(
    portal: Portal, tmp_path: Path, disk: Path
):
    write_roster(tmp_path, DUE)
    (tmp_path / "hook").mkdir()
    journal, vault = disk / "journal.sqlite", disk / "vault.json"
    first, other = DUE

    done = renew(portal, tmp_path, journal, vault, "before-journal", f"full:{disk}")

    assert_named_failure(done)
    path, kept = rescued(tmp_path, first)
    assert kept["password"] == password_on_portal(portal, first)
    assert path.stat().st_mode & 0o777 == 0o600
    assert str(path) in done.stderr, "the message names the true rescue file"
    assert "rangé directement dans le coffre" not in done.stderr
    assert portal.structure(other)["reset_count"] == 0, "no reset whose password could be kept nowhere"
    report = {o["identifiant"]: o for o in json.loads((tmp_path / "report.json").read_text())["outcomes"]}
    assert report[first]["error_kind"] == report[other]["error_kind"] == "storage_failed"
    assert str(path) in report[first]["error"]
    assert "aucune réinitialisation" in report[other]["error"]


def test_renew_with_the_vault_disk_turned_read_only_keeps_every_password_in_the_journal_and_goes_on(
    portal: Portal, tmp_path: Path, disk: Path
):
    write_roster(tmp_path, DUE)
    (tmp_path / "hook").mkdir()
    journal, vault = tmp_path / "journal.sqlite", disk / "vault.json"

    done = renew(portal, tmp_path, journal, vault, "after-journal-commit", f"read-only:{disk}")

    assert_named_failure(done)
    assert "Read-only file system" in done.stderr
    report = {o["identifiant"]: o for o in json.loads((tmp_path / "report.json").read_text())["outcomes"]}
    for identifiant in DUE:  # both reset once, both kept in the journal, both delivered by their hook
        live = password_on_portal(portal, identifiant)
        assert portal.structure(identifiant)["reset_count"] == 1, identifiant
        assert journal_password(journal, identifiant) == live
        delivered = json.loads((tmp_path / "hook" / f"{identifiant}.json").read_text(encoding="utf-8"))
        assert delivered["stdin"].strip() == live
        assert report[identifiant]["error_kind"] == "storage_failed"
        assert f"dans le journal {journal}" in report[identifiant]["error"]

    subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
    again = renew(portal, tmp_path, journal, vault, "none", "")

    assert again.returncode == 0, again.stderr[-3000:]
    for identifiant in DUE:
        assert vault_password(vault, identifiant) == password_on_portal(portal, identifiant)
        assert portal.structure(identifiant)["reset_count"] == 1, "stored, not reset again"
        assert journal_password(journal, identifiant) is None, "stored everywhere: erased from the journal"


@pytest.mark.parametrize("point", ["before-journal", "services-password-shown"])
def test_renew_on_the_services_portal_never_submits_a_password_the_journal_could_not_note(
    portal: Portal, tmp_path: Path, disk: Path, point: str
):
    portal.call("POST", "/__mock__/options", {"generation": "services"})
    identifiant = DUE[0]
    before = portal.structure(identifiant)["technical_user"]["password"]
    write_roster(tmp_path, [identifiant])
    (tmp_path / "hook").mkdir()
    journal, vault = disk / "journal.sqlite", tmp_path / "vault.json"

    done = renew(portal, tmp_path, journal, vault, point, f"full:{disk}")

    assert_named_failure(done)
    assert password_on_portal(portal, identifiant) == before, "« Soumettre » never clicked: the old one works"
    assert not vault.exists() or vault_password(vault, identifiant) is None
    assert not (tmp_path / "hook" / f"{identifiant}.json").exists(), "nothing delivered"
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["outcomes"][0]
    assert report["error_kind"] == "storage_failed" and "l'ancien" in report["error"], report["error"]


# ---------------------------------------------------------------- run


def test_run_with_the_journal_disk_full_before_the_reset_keeps_the_password_in_the_vault_and_says_so(
    portal: Portal, tmp_path: Path, disk: Path
):
    journal, vault = disk / "journal.sqlite", tmp_path / "vault.json"

    done = run(portal, tmp_path, DUE[0], journal, vault, "before-reset-requested", f"full:{disk}")

    assert_named_failure(done)
    assert vault_password(vault, DUE[0]) == password_on_portal(portal, DUE[0])
    assert f"journal {journal}" in done.stderr and "database or disk is full" in done.stderr
    assert f"structure {DUE[0]} : dans le coffre {vault}" in done.stderr


def test_run_with_journal_and_vault_on_one_full_disk_names_the_rescue_file(portal: Portal, tmp_path: Path, disk: Path):
    journal, vault = disk / "journal.sqlite", disk / "vault.json"

    done = run(portal, tmp_path, DUE[0], journal, vault, "before-journal", f"full:{disk}")

    assert_named_failure(done)
    path, kept = rescued(tmp_path, DUE[0])
    assert kept["password"] == password_on_portal(portal, DUE[0])
    assert f"mis à l'abri dans {path}" in done.stderr.splitlines()[-1], "the last word names the rescue file"
    assert "rangé directement dans le coffre" not in done.stderr


def test_run_with_the_vault_disk_turned_read_only_keeps_the_password_in_the_journal(
    portal: Portal, tmp_path: Path, disk: Path
):
    journal, vault = tmp_path / "journal.sqlite", disk / "vault.json"

    done = run(portal, tmp_path, DUE[0], journal, vault, "after-journal-commit", f"read-only:{disk}")

    assert_named_failure(done)
    assert "Read-only file system" in done.stderr
    assert journal_password(journal, DUE[0]) == password_on_portal(portal, DUE[0])
    assert f"mot de passe noté au journal {journal} mais pas dans le coffre {vault}" in done.stderr


@pytest.mark.parametrize("broken", ["full", "read-only"])
def test_run_with_the_journal_disk_broken_from_the_start_resets_nothing(
    portal: Portal, tmp_path: Path, disk: Path, broken: str
):
    journal, vault = disk / "journal.sqlite", tmp_path / "vault.json"
    Journal(journal).close()  # an existing journal, on a disk then filled or made read-only
    subprocess.run(["python3", "-c", BREAK_DISK, f"{broken}:{disk}"], cwd=PROJECT, check=True)

    done = run(portal, tmp_path, DUE[0], journal, vault, "none", "")

    assert_named_failure(done)
    assert "rien n'a été réinitialisé" in done.stderr
    assert portal.structure(DUE[0])["reset_count"] == 0


@pytest.mark.parametrize(("broken", "lock"), [("full", "beside"), ("full", "elsewhere"), ("read-only", "beside")])
def test_renew_with_the_journal_disk_broken_from_the_start_stops_before_any_reset(
    portal: Portal, tmp_path: Path, disk: Path, broken: str, lock: str
):
    write_roster(tmp_path, DUE)
    journal, vault = disk / "journal.sqlite", tmp_path / "vault.json"
    Journal(journal).close()
    subprocess.run(["python3", "-c", BREAK_DISK, f"{broken}:{disk}"], cwd=PROJECT, check=True)

    done = renew(
        portal, tmp_path, journal, vault, "none", "", *(["--lock", str(tmp_path / "lk")] if lock == "elsewhere" else [])
    )

    assert_named_failure(done)
    assert str(journal) in done.stderr
    said = ("rien n'a été fait", "rien n'a été réinitialisé", "arrêté avant toute réinitialisation")
    assert any(words in done.stderr for words in said), done.stderr
    assert all(portal.structure(i)["reset_count"] == 0 for i in DUE)


def test_a_storage_failure_is_one_kind_whoever_meets_it(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    from robots.cli import renew as commands
    from robots.cli.main import main
    from robots.errors import KINDS, kind_of

    full = OSError(errno.ENOSPC, "No space left on device")
    for exc in (
        VaultWriteFailed("coffre v.json : écriture impossible"),
        JournalWriteFailed("journal j : …"),
        full,
        OSError(errno.EROFS, "Read-only file system"),
        sqlite3.OperationalError("database or disk is full"),
    ):
        assert kind_of(exc) == "storage_failed", exc  # fmt: skip
    assert KINDS["storage_failed"].exit_code == VaultWriteFailed.exit_code == JournalWriteFailed.exit_code == 1
    assert kind_of(OSError(errno.ENOENT, "absent")) == "internal"

    def disk_full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "status.json")

    monkeypatch.setattr(commands, "_status", disk_full)  # a command that met a full disk nobody named better

    assert main(["status"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("chorus-robot: stockage en échec : ") and "No space left on device" in said, said
    assert "erreur interne" not in said
