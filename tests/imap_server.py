"""A real IMAP server for tests: a private Dovecot instance on loopback, on a free port.

`make test` installs Debian's dovecot-imapd (CI starts from a fresh Debian); this module starts an
instance with its own configuration and folders, and stops it by its own master.pid. Mail reaches
it as a Maildir the mock portal writes into (`mock-portal --maildir`), as a local MTA would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{tmp}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={tmp}/mail/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
"""


@dataclass
class ImapServer:
    port: int
    user: str
    password: str
    maildir: Path  # where the mock portal delivers; Dovecot serves it as the user's INBOX

    @property
    def url(self) -> str:
        return f"imap://{self.user}@127.0.0.1:{self.port}/INBOX"


def available() -> str | None:
    """Why Dovecot cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return "dovecot-imapd is not installed (make test installs it)"
    if os.geteuid() != 0:
        return "Dovecot's private instance needs root (it switches to the dovecot user)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Dovecot did not listen on {port}: {log.read_text() if log.exists() else 'no log'}")


@contextmanager
def dovecot(tmp: Path, user: str = "support", password: str = "imap-test-password") -> Iterator[ImapServer]:
    tmp.mkdir(parents=True, exist_ok=True)
    tmp.chmod(0o755)
    maildir = tmp / "mail" / user
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    # The mock (root) writes the files, Dovecot (dovecot) moves and flags them.
    for folder in (tmp / "mail", maildir, *(maildir / s for s in ("cur", "new", "tmp"))):
        folder.chmod(0o777)
        shutil.chown(folder, "dovecot", "dovecot")
    port = _free_port()
    config = tmp / "dovecot.conf"
    config.write_text(CONFIG.format(tmp=tmp, password=password, port=port), encoding="utf-8")
    # Dovecot forks into the background: its children must not hold our pipes open.
    subprocess.run([DOVECOT, "-c", str(config)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file = tmp / "run" / "master.pid"
    try:
        _wait_listening(port, tmp / "dovecot.log")
        yield ImapServer(port, user, password, maildir)
    finally:
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, 15)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
