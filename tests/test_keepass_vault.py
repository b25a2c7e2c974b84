"""Issue 21, point 4: the vault as a KeePass database (`--vault FILE.kdbx`), read back by KeePassXC itself.

Every check reads the database with `keepassxc-cli` (Debian's keepassxc, installed by `make keepassxc`), not only
with the library that wrote it: what IT opens in KeePassXC is what the robot wrote. A real `renew` against the
mock writes a .kdbx; a wrong master password stops before any browser; a damaged database is never written over;
a full disk is « stockage en échec » with the database left whole.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from robots.errors import BadInput
from robots.store.keepass_vault import GROUP, KEYFILE_ENV, PASSWORD_ENV
from robots.store.vault import VaultError, VaultWriteFailed
from robots.store.vaults import open_vault_file
from tests.conftest import Portal, robot
from tests.test_renew_crash import DUE, environment, write_roster

KEEPASSXC = shutil.which("keepassxc-cli")
needs_keepassxc = pytest.mark.skipif(
    KEEPASSXC is None, reason="keepassxc-cli absent : `make keepassxc` l'installe (Debian : apt-get install keepassxc)"
)
MASTER = "Maitre-Du-Coffre-2026"
STRUCTURE = "21300258600013"


def keepassxc(command: str, database: Path, *args: str, password: str | None = MASTER, keyfile: Path | None = None):  # noqa: ANN201
    """`keepassxc-cli COMMAND -q [-k KEY] [--no-password] DATABASE ARGS`, the master password on stdin."""
    options = ["-q", *(["-k", str(keyfile)] if keyfile else []), *(["--no-password"] if password is None else [])]
    return subprocess.run(
        [KEEPASSXC, command, *options, str(database), *args], input=f"{password}\n" if password else "",
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def shown(database: Path, entry: str, *attributes: str, **how: object) -> list[str]:
    wanted = [part for name in attributes for part in ("-a", name)]
    done = keepassxc("show", database, "-s", *wanted, f"{GROUP}/{entry}", **how)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def exported(database: Path, **how: object) -> ET.Element:
    done = keepassxc("export", database, "-f", "xml", **how)  # type: ignore[arg-type]
    assert done.returncode == 0, done.stderr
    return ET.fromstring(done.stdout)


def xml_entry(root: ET.Element, title: str) -> ET.Element:
    for group in root.iter("Group"):
        if group.findtext("Name") == GROUP:
            for entry in group.findall("Entry"):
                if any(s.findtext("Key") == "Title" and s.findtext("Value") == title for s in entry.findall("String")):
                    return entry
    raise AssertionError(f"no entry {title} in the group {GROUP}")


def utc(moment: str) -> datetime:
    """An ISO moment (naive: local time), or KDBX 4's own form in KeePassXC's XML (base64 seconds since year 1)."""
    if not moment[:4].isdigit():
        seconds = int.from_bytes(base64.b64decode(moment), "little")
        return datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    parsed = datetime.fromisoformat(moment)
    return (parsed if parsed.tzinfo else parsed.astimezone()).astimezone(UTC)


@pytest.fixture
def master(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, MASTER)
    monkeypatch.delenv(KEYFILE_ENV, raising=False)
    return MASTER


# ---------------------------------------------------------------- written by the robot, read by KeePassXC


@needs_keepassxc
def test_an_entry_per_structure_as_keepassxc_reads_it(tmp_path: Path, master: str):
    database = tmp_path / "coffre" / "technique.kdbx"
    database.parent.mkdir()
    vault = open_vault_file(database)
    vault.check()
    assert not database.exists(), "checking creates nothing"
    vault.describe(api_url="https://api.piste.gouv.fr")
    vault.describe(run=42)
    vault.describe(STRUCTURE, raison_sociale="COMMUNE DE SAINT-GILLES")
    vault.put(STRUCTURE, login="TECH_1@cpp", password="Clean&123<abc>", expires_at="2027-02-22T10:00:00")
    vault.put("21300321200015", login="TECH_2@cpp", password="Autre456xyz")
    vault.put(STRUCTURE, expires_at="2027-03-01T09:30:00")  # the expiry read again: the rest stays

    assert database.stat().st_mode & 0o777 == 0o600
    assert not [p for p in database.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    username, password, url, *notes = shown(database, STRUCTURE, "UserName", "Password", "URL", "Notes")
    assert (username, password, url) == ("TECH_1@cpp", "Clean&123<abc>", "https://api.piste.gouv.fr")
    assert notes[0] == "Raison sociale : COMMUNE DE SAINT-GILLES"
    assert "exécution n°42" in notes[1]
    entry = xml_entry(exported(database), STRUCTURE)
    assert entry.findtext("Times/Expires") == "True"
    assert utc(entry.findtext("Times/ExpiryTime") or "") == utc("2027-03-01T09:30:00")
    assert int.from_bytes(database.read_bytes()[10:12], "little") == 4, "KDBX 4 (the header's major version)"
    assert "KDF: Argon2" in keepassxc("db-info", database).stdout
    assert open_vault_file(database).get(STRUCTURE) | {"updated_at": "-"} == {
        "login": "TECH_1@cpp", "password": "Clean&123<abc>", "expires_at": "2027-03-01T09:30:00", "updated_at": "-",
        "url": "https://api.piste.gouv.fr",
    }  # fmt: skip


def keepassxc_key_file(folder: Path) -> Path:
    """A key file as KeePassXC makes one (with a throwaway database: db-create writes both)."""
    keyfile = folder / "dsi.keyx"
    made = subprocess.run([KEEPASSXC, "db-create", "-q", "--set-key-file", str(keyfile), str(folder / "jetable.kdbx")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    keyfile.chmod(0o600)
    return keyfile


@needs_keepassxc
def test_a_key_file_alone_opens_it_and_what_keepassxc_added_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    database, keyfile = tmp_path / "dsi.kdbx", keepassxc_key_file(tmp_path)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv(KEYFILE_ENV, str(keyfile))
    open_vault_file(database).put(STRUCTURE, login="TECH_1@cpp", password="Clean123abc")
    added = keepassxc("add", database, "-u", "admin", "messagerie", password=None, keyfile=keyfile)
    assert added.returncode == 0, added.stderr

    open_vault_file(database).put(STRUCTURE, password="Nouveau123ab")

    assert shown(database, STRUCTURE, "UserName", "Password", password=None, keyfile=keyfile) == [
        "TECH_1@cpp", "Nouveau123ab"]  # fmt: skip
    listed = keepassxc("ls", database, "-R", password=None, keyfile=keyfile)
    assert "messagerie" in listed.stdout, "IT's own entries are kept"
    other = tmp_path / "autre.key"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    monkeypatch.setenv(KEYFILE_ENV, str(other))
    before = database.read_bytes()
    with pytest.raises(VaultError, match=f"fichier clé \\({KEYFILE_ENV}\\) refusé"):
        open_vault_file(database).put(STRUCTURE, password="Autre123abcd")
    assert database.read_bytes() == before
    other.chmod(0o644)
    with pytest.raises(BadInput, match="mode 644, 600 attendu"):
        open_vault_file(database).check()


@needs_keepassxc
def test_a_kdbx_3_database_is_read_never_written(tmp_path: Path, master: str):
    """keepassxc-cli's db-create writes KDBX 3.1, which pykeepass would write back with a header KeePassXC refuses."""
    database = tmp_path / "ancien.kdbx"
    made = subprocess.run([KEEPASSXC, "db-create", "-q", "-p", str(database)], input=f"{MASTER}\n{MASTER}\n",
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    before = database.read_bytes()
    assert int.from_bytes(before[10:12], "little") == 3

    with pytest.raises(VaultError, match="format KDBX 3.1, le robot n'écrit que KDBX 4"):
        open_vault_file(database).check()
    with pytest.raises(VaultError, match="KDBX 4"):
        open_vault_file(database).put(STRUCTURE, password="Nouveau123ab")

    assert database.read_bytes() == before
    assert keepassxc("ls", database).returncode == 0, "KeePassXC still opens it"


# ---------------------------------------------------------------- what is never written over


WRITER = """
import sys
from pathlib import Path
from robots.store.vaults import open_vault_file
vault = open_vault_file(Path(sys.argv[1]))
for n in range(3):
    vault.put(f"{sys.argv[2]}-{n}", login=f"TECH_{sys.argv[2]}_{n}@cpp", password=f"Secret{sys.argv[2]}x{n}abc")
"""


def test_writers_at_once_lose_no_entry(tmp_path: Path, master: str):
    """Every read-modify-write holds the vault's lock: four processes writing three entries each keep twelve."""
    database = tmp_path / "coffre.kdbx"
    open_vault_file(database).put("0", login="TECH_0@cpp", password="Premier123abc")  # the database exists
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(database), str(w)], env={**os.environ},
                                stderr=subprocess.PIPE, text=True) for w in range(1, 5)]  # fmt: skip
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read() if writer.stderr else ""
    entries = open_vault_file(database).read()
    assert sorted(entries) == ["0"] + [f"{w}-{n}" for w in range(1, 5) for n in range(3)]
    assert entries["3-2"]["password"] == "Secret3x2abc"


def test_a_wrong_master_password_reads_and_writes_nothing(tmp_path: Path, master: str, monkeypatch):
    database = tmp_path / "coffre.kdbx"
    open_vault_file(database).put(STRUCTURE, login="TECH_1@cpp", password="Clean123abc")
    before = database.read_bytes()
    monkeypatch.setenv(PASSWORD_ENV, "pas-le-bon")

    with pytest.raises(VaultError, match=f"mot de passe maître \\({PASSWORD_ENV}\\).*refusé"):
        open_vault_file(database).put(STRUCTURE, password="Nouveau123ab")

    assert database.read_bytes() == before
    done = robot("vault", "show", STRUCTURE, "--vault", str(database), env={PASSWORD_ENV: "pas-le-bon"})
    assert done.returncode == 2, done.stderr
    assert "refusé" in done.stderr and "Traceback" not in done.stderr
    missing = robot("vault", "get", STRUCTURE, "--vault", str(database), env={PASSWORD_ENV: ""})
    assert missing.returncode == 2 and PASSWORD_ENV in missing.stderr and KEYFILE_ENV in missing.stderr
    got = robot("vault", "get", STRUCTURE, "--vault", str(database), env={PASSWORD_ENV: MASTER})
    assert got.returncode == 0, got.stderr
    assert "Mot de passe          : Clean123abc" in got.stdout and "TECH_1@cpp" in got.stdout
    assert MASTER not in got.stdout + got.stderr


def test_a_file_that_is_not_a_keepass_database_is_left_as_it_is(tmp_path: Path, master: str):
    database = tmp_path / "coffre.kdbx"
    database.write_bytes(b'{"21300258600013": {"password": "dans un autre format"}}')
    before = database.read_bytes()

    with pytest.raises(VaultError, match="pas une base KeePass lisible"):
        open_vault_file(database).put(STRUCTURE, password="Nouveau123ab")

    assert database.read_bytes() == before
    done = robot("vault", "show", STRUCTURE, "--vault", str(database), env={PASSWORD_ENV: MASTER})
    assert done.returncode == 2 and "pas une base KeePass lisible" in done.stderr, done.stderr


def test_renew_with_a_wrong_master_password_stops_before_any_browser(tmp_path: Path, master: str):
    database = tmp_path / "coffre.kdbx"
    open_vault_file(database).put(STRUCTURE, login="TECH_1@cpp", password="Clean123abc")
    roster = write_roster(tmp_path, DUE)
    nowhere = "http://127.0.0.1:9"  # a browser or a portal there would fail otherwise: exit 1, not 2
    done = robot(
        "renew", "--env", "mock", "--portal-url", nowhere, "--browser-cdp", nowhere, "--roster", str(roster),
        "--vault", str(database), "--journal", str(tmp_path / "journal.sqlite"), "--log-file", "-",
        env={PASSWORD_ENV: "pas-le-bon", "SYNDICAT_LOGIN": "syndic", "SYNDICAT_PASSWORD": "Syndic123ab"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"coffre KeePass {database}" in done.stderr and "refusé" in done.stderr
    assert "pas-le-bon" not in done.stderr + done.stdout


def test_a_full_disk_leaves_the_database_whole(tmp_path: Path, master: str):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"monter un tmpfs demande root (CAP_SYS_ADMIN) : {mounted.stderr.strip()}")
    try:
        database = disk / "coffre.kdbx"
        open_vault_file(database).put(STRUCTURE, login="TECH_1@cpp", password="Clean123abc")
        before = database.read_bytes()
        with (disk / "remplissage").open("wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
            except OSError:
                pass
        with pytest.raises(VaultWriteFailed, match="No space left on device") as failed:
            open_vault_file(database).put(STRUCTURE, password="Nouveau123ab")
        assert failed.value.exit_code == 1, "stockage en échec, not bad input"
        assert database.read_bytes() == before
        assert open_vault_file(database).get(STRUCTURE)["password"] == "Clean123abc"
        assert sorted(p.name for p in disk.iterdir()) == ["coffre.kdbx", "coffre.kdbx.lock", "remplissage"]
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


# ---------------------------------------------------------------- a real night


@needs_keepassxc
def test_renew_against_the_mock_keeps_the_passwords_in_a_kdbx_keepassxc_opens(
    portal: Portal, tmp_path: Path, master: str
):
    roster = write_roster(tmp_path, DUE)
    (tmp_path / "hook").mkdir()
    database, metrics, log = tmp_path / "coffre.kdbx", tmp_path / "chorus.prom", tmp_path / "renew.log"
    done = robot(
        "renew", "--env", "mock", "--portal-url", portal.url, "--roster", str(roster), "--within", "30",
        "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(database), "--log-file", str(log),
        "--metrics", str(metrics), env={**environment(portal, tmp_path), PASSWORD_ENV: MASTER},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    root = exported(database)
    for identifiant in DUE:
        live = portal.structure(identifiant)
        technical = live["technical_user"]
        username, password, url, *notes = shown(database, identifiant, "UserName", "Password", "URL", "Notes")
        assert (username, password, url) == (technical["login"], technical["password"], portal.url)
        assert notes[0] == f"Raison sociale : {live['raison_sociale']}", notes
        assert "exécution n°" in notes[1]
        expiry = xml_entry(root, identifiant).findtext("Times/ExpiryTime") or ""
        assert utc(expiry) == utc(technical["expires_at"]), identifiant
    assert database.stat().st_mode & 0o777 == 0o600
    assert MASTER not in done.stdout + done.stderr + log.read_text(encoding="utf-8")
    for identifiant in DUE:  # the delivery hook, a child process: the password on stdin, never the master password
        hook = json.loads((tmp_path / "hook" / f"{identifiant}.json").read_text(encoding="utf-8"))
        assert hook["stdin"].strip() == portal.structure(identifiant)["technical_user"]["password"]
        assert PASSWORD_ENV not in hook["env"] and MASTER not in json.dumps(hook["env"])
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))}
    days = {s.labels["identifiant"]: s.value for s in families["chorus_robot_technical_password_days_left"].samples}
    assert set(days) == set(DUE) and min(days.values()) > 300, days
    assert all(technical_password not in metrics.read_text() for technical_password in _passwords(portal))
    assert metrics.stat().st_mode & 0o777 == 0o644
    check = robot("status", "--check", "--journal", str(tmp_path / "journal.sqlite"), "--vault", str(database),
                  env={PASSWORD_ENV: MASTER})  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("CHORUS-ROBOT OK - 2 structures"), check.stdout


def _passwords(portal: Portal) -> list[str]:
    return [portal.structure(i)["technical_user"]["password"] for i in DUE]


def test_vault_encryption_age_with_a_kdbx_is_refused(tmp_path: Path, master: str):
    with pytest.raises(Exception, match="chiffrée par KeePass"):
        open_vault_file(tmp_path / "coffre.kdbx", "age", None)
    assert os.listdir(tmp_path) == []
