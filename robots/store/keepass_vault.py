"""The vault as a KeePass database (KDBX 4): `--vault FILE.kdbx` or `settings.vault: …/FILE.kdbx`.

French public bodies keep such secrets in KeePass (KeePassXC is certified by ANSSI): IT opens the same file the
robot writes. One entry per structure in the group `chorus-robot`, titled with its identifiant: UserName the
technical login, Password, URL the API's, the entry's expiry the password's, Notes the raison sociale and the
run that wrote it; what else the robot notes (the exact expiry read, when the entry was written, a sealed page)
are the entry's own attributes, protected (hidden by KeePassXC) when secret.

Opened with the master password in CHORUS_ROBOT_KEEPASS_PASSWORD and/or the key file named by
CHORUS_ROBOT_KEEPASS_KEYFILE (a secret, read through robots.secrets.ENVIRON: no child process sees it, every
log masks it). Created when absent. The JSON vault's guarantees hold (robots/store/vault.py): writes under its lock,
to a temporary file fsynced then renamed over the database; a database that cannot be opened (wrong master
password, damaged file) is never written over; a full disk is a storage failure. The library is pykeepass
(KDBX 4 with Argon2, the format KeePassXC writes), not a hand-written format. A KDBX 3.1 database
(keepassxc-cli's db-create makes one) is read but never written: pykeepass writes that format with a header
hash KeePassXC refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pykeepass import PyKeePass
from pykeepass.exceptions import CredentialsError
from pykeepass.pykeepass import BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD

from robots.errors import BadInput
from robots.secrets import ENVIRON, REDACTOR
from robots.store.vault import Vault, VaultError, _write_error, now_iso
from robots.support.private_files import replace_atomically

PASSWORD_ENV = "CHORUS_ROBOT_KEEPASS_PASSWORD"
KEYFILE_ENV = "CHORUS_ROBOT_KEEPASS_KEYFILE"
GROUP = "chorus-robot"
# What the robot keeps beside the entry's standard fields and a person may read: shown, not protected.
PLAIN_ATTRIBUTES = frozenset({"expires_at", "updated_at", "status", "requested_at", "outcome", "structure",
                              "sealed_at", "sealed_released_at"})  # fmt: skip
_KEPT = "elle est laissée telle quelle : rien n'a été réinitialisé"
# The Argon2 result per database and credentials: one derivation (a second of CPU) per process, not per write.
_TRANSFORMED_KEYS: dict[tuple[str, str | None, Path | None], bytes] = {}


@dataclass(frozen=True)
class Credentials:
    password: str | None
    keyfile: Path | None


def credentials(path: Path) -> Credentials:
    """The master password and/or key file from the environment (or .env); neither is bad input."""
    password = ENVIRON.get(PASSWORD_ENV) or None
    keyfile_name = (ENVIRON.get(KEYFILE_ENV) or "").strip()
    if password is None and not keyfile_name:
        raise BadInput(f"coffre KeePass {path} : donnez le mot de passe maître ({PASSWORD_ENV}) et/ou le fichier "
                       f"clé ({KEYFILE_ENV}), dans l'environnement ou .env")  # fmt: skip
    REDACTOR.add(password)
    keyfile = Path(keyfile_name) if keyfile_name else None
    if keyfile is not None:
        _check_keyfile(keyfile)
    return Credentials(password, keyfile)


def _check_keyfile(keyfile: Path) -> None:
    try:
        mode = keyfile.stat().st_mode
        with keyfile.open("rb"):
            pass
    except OSError as exc:
        raise BadInput(f"fichier clé KeePass {keyfile} ({KEYFILE_ENV}) : lecture impossible ({exc.strerror})") from None
    if mode & 0o077:
        raise BadInput(f"fichier clé KeePass {keyfile} : mode {mode & 0o777:o}, 600 attendu (chmod 600 {keyfile})")


class KeePassVault(Vault):
    """Vault's interface (read, get, put, check, room_for_a_write) over a KDBX 4 database."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.api_url = ""
        self.run: int | None = None
        self.raison_sociale: dict[str, str] = {}

    def at(self, path: Path) -> Vault:
        other = KeePassVault(path)
        other.api_url, other.run, other.raison_sociale = self.api_url, self.run, self.raison_sociale
        return other

    def describe(self, key: str | None = None, **about: Any) -> None:
        if "api_url" in about:
            self.api_url = str(about["api_url"] or "")
        if "run" in about:
            self.run = about["run"]
        if key and about.get("raison_sociale"):
            self.raison_sociale[key] = str(about["raison_sociale"])

    # ------------------------------------------------------------ reading

    def read(self) -> dict[str, dict[str, Any]]:
        database = self._open()
        if database is None:
            return {}
        group = database.find_groups(name=GROUP, group=database.root_group, recursive=False, first=True)
        if group is None:
            return {}
        return {entry.title: _fields(entry) for entry in group.entries if entry.title}

    def _open(self) -> PyKeePass | None:
        """The database, or None when there is none yet; VaultError when it cannot be opened (left as it is)."""
        try:
            if self.path.stat().st_size == 0:
                return None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VaultError(f"coffre KeePass {self.path} : lecture impossible ({exc.strerror})") from None
        if self.path.is_dir():
            raise VaultError(f"coffre {self.path} : c'est un dossier, une base KeePass (.kdbx) est attendue")
        given = credentials(self.path)
        cache = (str(self.path.resolve()), given.password, given.keyfile)
        known = _TRANSFORMED_KEYS.get(cache)
        try:
            if known is not None:
                try:
                    return self._parse(given, known)
                except CredentialsError:  # saved by someone else since (KeePassXC): a new salt
                    _TRANSFORMED_KEYS.pop(cache, None)
            database = self._parse(given, None)
        except CredentialsError:
            raise VaultError(f"coffre KeePass {self.path} : mot de passe maître ({PASSWORD_ENV}) ou fichier clé "
                             f"({KEYFILE_ENV}) refusé ; {_KEPT}") from None  # fmt: skip
        except OSError as exc:
            raise VaultError(f"coffre KeePass {self.path} : lecture impossible ({exc.strerror}) ; {_KEPT}") from None
        except Exception as exc:  # whatever the parser met (its words may quote the file's bytes: only its kind)
            raise VaultError(f"coffre KeePass {self.path} : ce n'est pas une base KeePass lisible "
                             f"({type(exc).__name__}) ; {_KEPT}") from None  # fmt: skip
        _TRANSFORMED_KEYS[cache] = database.transformed_key
        return database

    def _writable(self) -> PyKeePass | None:
        """The database to write to: KDBX 4 only. pykeepass writes KDBX 3.1 with a header hash KeePassXC
        refuses (« Header doesn't match hash »): such a database is read, never written."""
        database = self._open()
        if database is not None and database.version < (4, 0):
            major, minor = database.version
            raise VaultError(f"coffre KeePass {self.path} : format KDBX {major}.{minor}, le robot n'écrit que KDBX 4 "
                             "(KeePassXC : Base de données › Sécurité de la base › Chiffrement › Format KDBX 4) ; "
                             f"{_KEPT}")  # fmt: skip
        return database

    def _parse(self, given: Credentials, transformed_key: bytes | None) -> PyKeePass:
        keyfile = str(given.keyfile) if given.keyfile else None
        return PyKeePass(str(self.path), given.password, keyfile, transformed_key=transformed_key)

    # ------------------------------------------------------------ writing

    def put(self, key: str, **fields: Any) -> None:
        """Merge `fields` into the structure's entry (None leaves a field as it was); the rest of the database
        (what IT keeps there besides) is written back untouched."""
        with self._locked():
            database = self._writable()
            transformed_key = database.transformed_key if database is not None else None
            if database is None:
                database = _new_database(credentials(self.path))
            entry = _entry(database, key)
            _fill(entry, {k: v for k, v in fields.items() if v is not None} | {"updated_at": now_iso()})
            if self.api_url:
                entry.url = self.api_url
            entry.notes = self._notes(key, entry.notes or "")
            try:
                self._save(database, transformed_key)
            except OSError as exc:
                raise _write_error(f"coffre KeePass {self.path} : écriture impossible", exc) from None

    def check(self) -> None:
        credentials(self.path)  # absent: it will be created, so the master password must be given now
        self._writable()
        super().check()

    def _notes(self, key: str, before: str) -> str:
        """« Raison sociale : … » and « Écrit par chorus-robot, exécution n°… » replace their own lines only."""
        ours = ("Raison sociale : ", "Écrit par chorus-robot")
        lines = [line for line in before.splitlines() if not line.startswith(ours)]
        name = self.raison_sociale.get(key) or next((ln[len(ours[0]) :] for ln in before.splitlines()
                                                     if ln.startswith(ours[0])), "")  # fmt: skip
        run = f", exécution n°{self.run} du journal" if self.run is not None else ""
        head = ([f"Raison sociale : {name}"] if name else []) + [f"Écrit par chorus-robot le {now_iso()}{run}"]
        return "\n".join(head + lines)

    def _save(self, database: PyKeePass, transformed_key: bytes | None) -> None:
        """Temporary file 0600, fsync, rename over the database, fsync of the folder (as the JSON vault)."""
        replace_atomically(self.path, lambda handle: database.save(handle, transformed_key=transformed_key))


def _new_database(given: Credentials) -> PyKeePass:
    """An empty KDBX 4 database (Argon2, AES-256) with these credentials, not written yet."""
    database = PyKeePass(BLANK_DATABASE_LOCATION, BLANK_DATABASE_PASSWORD)
    database.filename = None
    database.password = given.password
    database.keyfile = str(given.keyfile) if given.keyfile else None
    return database


def _entry(database: PyKeePass, key: str) -> Any:
    group = database.find_groups(name=GROUP, group=database.root_group, recursive=False, first=True)
    if group is None:
        group = database.add_group(database.root_group, GROUP)
    found = database.find_entries(title=key, group=group, recursive=False, first=True)
    return found or database.add_entry(group, key, "", "")


def _fill(entry: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        text = str(value)
        if name == "login":
            entry.username = text
        elif name == "password":
            entry.password = text
            REDACTOR.add(text)
        else:
            entry.set_custom_property(name, text, protect=name not in PLAIN_ATTRIBUTES)
        if name == "expires_at":
            moment = _moment(text)
            entry.expires = moment is not None
            if moment is not None:
                entry.expiry_time = moment


def _moment(text: str) -> datetime | None:
    """An expiry as the portal writes it (local wall-clock time unless it says otherwise), as an instant."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.astimezone()


def _fields(entry: Any) -> dict[str, Any]:
    """An entry as the JSON vault would hold it; the expiry a person set in KeePassXC wins over the one noted."""
    fields: dict[str, Any] = {}
    if entry.username:
        fields["login"] = entry.username
    if entry.password:
        fields["password"] = entry.password
        REDACTOR.add(entry.password)
    fields.update(entry.custom_properties)
    noted = _moment(str(fields.get("expires_at") or ""))
    if entry.expires and entry.expiry_time is not None and (noted is None or noted != entry.expiry_time):
        fields["expires_at"] = entry.expiry_time.astimezone().replace(tzinfo=None).isoformat(timespec="seconds")
    elif not entry.expires and noted is not None:  # a person removed the expiry in KeePassXC
        fields.pop("expires_at", None)
    if entry.url:
        fields["url"] = entry.url
    return fields
