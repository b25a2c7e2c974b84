"""What the robot writes is for its own user only: files 0600, folders 0700, whatever the umask.

`restrict_umask()` is the first thing `chorus-robot` does: umask 077 for the process and every child it
starts — Playwright's node driver writes the traces, videos, screenshots and PDFs, ffmpeg the videos, SQLite
the journal's -wal/-shm — so everything is created private without each writer having to think of it. The
helpers below cover what may already exist with wider modes (a folder made 0755 by an older version, a log
file from before) and the lock files, which another user must not be able to open, hence to lock.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from loguru import logger

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700
OTHERS = 0o077  # the group's and everybody else's bits


def restrict_umask() -> int:
    """Files and folders created from now on, by this process and its children, are the user's alone; returns the
    umask it replaces (`main()` called from another program, a test, puts it back when it returns)."""
    return os.umask(PRIVATE_UMASK)


def private_folder(path: Path, *, must_own: bool = False) -> Path:
    """The folder (and its missing parents) created 0700; one of the user's own that others could read is
    brought back to 0700. A folder of another user is refused (PermissionError) when everybody can write to it
    without the sticky bit — whoever can write there can swap the robot's files for their own — or always
    with `must_own` (a folder squatted in /tmp)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    found = path.stat()
    if found.st_uid != os.geteuid():
        if must_own or found.st_mode & stat.S_IWOTH and not found.st_mode & stat.S_ISVTX:
            raise PermissionError(errno.EPERM, f"dossier {path} à un autre utilisateur (uid {found.st_uid})")
        return path
    if found.st_mode & OTHERS and not _shared_by_nature(path, found):
        os.chmod(path, FOLDER_MODE)
        logger.info("dossier {} : mode {:o} ramené à 700 (lisible par son seul utilisateur)", path,
                    found.st_mode & 0o777)  # fmt: skip
    return path


def _shared_by_nature(path: Path, found: os.stat_result) -> bool:
    """Folders never narrowed: a sticky one (/tmp), the home folder, the current folder and their parents."""
    if found.st_mode & stat.S_ISVTX:
        return True
    resolved = path.resolve()
    try:
        places = [Path.home().resolve(), Path.cwd()]
    except (OSError, RuntimeError):  # no home, or the current folder removed: narrow nothing
        return True
    return any(resolved == place or resolved in place.parents for place in places)


def make_parents(path: Path) -> None:
    """Missing folders up to `path`'s created 0700; existing ones (a folder the user chose) left as they are."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)


def tighten_file(path: Path) -> None:
    """An existing file of the user's that others could read is brought back to 0600."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(found.st_mode) and found.st_uid == os.geteuid() and found.st_mode & OTHERS:
        os.chmod(path, FILE_MODE)


def open_private(path: Path, flags: int) -> int:
    """A descriptor on `path`, created 0600 if absent; a file of the user's that was wider brought back to 0600."""
    descriptor = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        found = os.fstat(descriptor)
        if found.st_uid == os.geteuid() and found.st_mode & OTHERS:
            os.fchmod(descriptor, FILE_MODE)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def open_lock(path: Path) -> int:
    """A lock file only its user can open, hence lock, in a folder only its user can write to (nobody else can
    put a lock file of their own in its place); never through a link. Raises OSError with a readable strerror."""
    private_folder(path.parent)
    descriptor = open_private(path, os.O_RDWR | os.O_NOFOLLOW)
    owner = os.fstat(descriptor).st_uid
    if owner != os.geteuid():
        os.close(descriptor)
        raise PermissionError(errno.EPERM, f"{path} appartient à un autre utilisateur (uid {owner}), qui pourrait le "
                                           "verrouiller")  # fmt: skip
    return descriptor


def write_private(path: Path, content: str | bytes) -> None:
    """Writes a report, an export, a page: 0600, missing folders 0700."""
    make_parents(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "wb") as handle:
        handle.write(data)


def private_opener(path: str, flags: int) -> int:
    """`opener` for open() and loguru's file sinks: every log file, rotated ones too, created 0600."""
    return open_private(Path(path), flags)


def tighten_database(path: Path) -> None:
    """The SQLite journal and the sidecars SQLite may have left from an earlier, wider run."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten_file(path.with_name(path.name + suffix))


def replace_atomically(path: Path, write: Callable[[BinaryIO], None], mode: int = 0o600) -> None:
    """`path` replaced whole or not at all, even if the machine stops: `write` fills a temporary file beside it
    (`mode`: 0600 unless said), which is synced, renamed over `path`, and the folder synced (the vaults, the renew
    reports, the metrics file)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
