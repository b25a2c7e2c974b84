"""The one real IMAP server of the tests: a private Dovecot on loopback, on free ports, stopped by its own pid.

`make test` installs Debian's dovecot-imapd (its system service is never used). Mail for USER lands in
`<folder>/mail/USER` (a Maildir Dovecot serves as USER's INBOX), so a mock portal writing there
(`mock-portal --maildir`, `/__mock__/accounts {"maildir": …}`) stands in for a mail server. One instance per
test session (the `imap_server` fixture of tests/conftest.py); any user name logs in with its one password.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-Pw7"
CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
log_path = {folder}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{folder}/mail/%u
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
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
"""


@dataclass
class ImapServer:
    folder: Path
    port: int
    password: str
    tls_port: int  # IMAP over TLS, with a certificate for 127.0.0.1 signed by `cafile`
    cafile: Path

    def maildir(self, user: str) -> Path:
        """The Maildir Dovecot serves as USER's INBOX (created; the mock writes, Dovecot moves and flags)."""
        path = self.folder / "mail" / user
        for sub in ("", "new", "cur", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
            (path / sub).chmod(0o777)
            shutil.chown(path / sub, "dovecot", "dovecot")
        return path

    def url(self, user: str, tls: bool = False) -> str:
        """The --mailbox URL of USER's INBOX (imap:// wants --insecure-mail, imaps:// CHORUS_ROBOT_IMAP_CAFILE)."""
        if tls:
            return f"imaps://{user}@127.0.0.1:{self.tls_port}/INBOX"
        return f"imap://{user}@127.0.0.1:{self.port}/INBOX"


def available() -> str | None:
    """Why a private Dovecot cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return "dovecot-imapd is not installed: `make test` installs it (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root (it switches to the dovecot user)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dovecot(folder: Path, password: str = PASSWORD) -> Iterator[ImapServer]:
    why_not = available()
    if why_not:
        raise RuntimeError(why_not)
    folder.mkdir(parents=True, exist_ok=True)
    for path in (folder, *folder.parents):  # dovecot's users must reach the mail folder
        if path == Path(path.anchor) or path == Path(tempfile.gettempdir()):
            break
        if path.stat().st_mode & 0o011 != 0o011:
            path.chmod(path.stat().st_mode | 0o011)
    (folder / "run").mkdir(exist_ok=True)
    (folder / "mail").mkdir(exist_ok=True)
    shutil.chown(folder / "mail", "dovecot", "dovecot")
    port, tls_port = free_port(), free_port()
    cert, key = _self_signed(folder)
    ssl = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
    uid, gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
    config = folder / "dovecot.conf"
    config.write_text(
        CONFIG.format(folder=folder, port=port, tls_port=tls_port, ssl=ssl, password=password, uid=uid, gid=gid)
    )
    # Dovecot forks into the background: its output goes to its log, never to a pipe we would wait on.
    subprocess.run([DOVECOT, "-c", str(config)], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)  # fmt: skip
    pid_file = folder / "run" / "master.pid"
    try:
        _wait_for_port(port, folder / "dovecot.log")
        _wait_for_port(tls_port, folder / "dovecot.log")
        yield ImapServer(folder, port, password, tls_port, cert)
    finally:
        if pid_file.exists():
            _stop(int(pid_file.read_text().split()[0]))


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA: the robot is given it as CHORUS_ROBOT_IMAP_CAFILE)."""
    cert, key = folder / "imap-cert.pem", folder / "imap-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _stop(pid: int, timeout_s: float = 10) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _wait_for_port(port: int, log: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}: {log.read_text() if log.exists() else 'no log'}")
