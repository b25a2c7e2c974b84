"""Reading a mailbox the portal writes to: second-factor codes, account-activation e-mails.

A mailbox is named by a URL:
- `maildir:///PATH`: a Maildir on this machine (what a local MTA or Dovecot delivers to);
- `imaps://USER@HOST[:PORT]/FOLDER`: IMAP over TLS, password from CHORUS_ROBOT_IMAP_PASSWORD
  (CHORUS_ROBOT_IMAP_CAFILE for a private CA);
- `imap://USER@HOST:PORT/FOLDER`: plain IMAP, only to a loopback address and only with
  CHORUS_ROBOT_IMAP_INSECURE=1 (tests against a local server).

`wait(to, since, timeout_s)` returns the newest message to that address sent at or after `since`,
polling until it comes; `NoMessage` says what was looked for, where, and for how long.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import imaplib
import ipaddress
import mailbox as maildir_lib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from robots.errors import BadInput, NoMessage, RobotError
from robots.secrets import ENVIRON, REDACTOR

PASSWORD_ENV = "CHORUS_ROBOT_IMAP_PASSWORD"
CAFILE_ENV = "CHORUS_ROBOT_IMAP_CAFILE"
INSECURE_ENV = "CHORUS_ROBOT_IMAP_INSECURE"
POLL_S = 2.0


@dataclass(frozen=True)
class Message:
    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    date: datetime  # aware
    text: str  # the plain-text body (or the HTML one, tags left in, when there is no plain text)


class Mailbox:
    """What every kind of mailbox answers; subclasses only list the candidate messages."""

    url: str

    def candidates(self, to: str, since: datetime) -> Iterable[EmailMessage]:
        raise NotImplementedError

    def check(self) -> None:
        """Raises when the mailbox cannot be read: BadInput (its folder, its login), RobotError (unreachable)."""
        raise NotImplementedError

    def newest(
        self, to: str, since: datetime, exclude: Iterable[str] = (), matching: Callable[[Message], bool] | None = None
    ) -> Message | None:
        """The newest message to `to` dated at or after `since` (to the second), skipping `exclude` ids and, given
        `matching`, the messages it refuses (an activation e-mail sent in the same second as the code's)."""
        since = _aware(since).replace(microsecond=0)
        skipped = set(exclude)
        found = [
            m for m in (_message(raw) for raw in self.candidates(to, since))
            if m and m.date >= since and addressed_to(to, m.to) and m.message_id not in skipped
            and (matching is None or matching(m))
        ]  # fmt: skip
        return max(found, key=lambda m: m.date, default=None)

    def wait(
        self,
        to: str,
        since: datetime,
        timeout_s: float,
        exclude: Iterable[str] = (),
        poll_s: float = POLL_S,
        matching: Callable[[Message], bool] | None = None,
    ) -> Message:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.newest(to, since, exclude, matching)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise NoMessage(
                    f"aucun message pour {to} reçu depuis {_aware(since):%d/%m/%Y %H:%M:%S} dans {self.url} "
                    f"(attendu {timeout_s:g} s)"
                )
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))


def addressed_to(to: str, recipients: tuple[str, ...]) -> bool:
    """`to` is one of the recipients; a login without « @ » (the DGFiP portal's identifiant, the left part of the
    e-mail address) is the left part of one."""
    wanted = to.strip().lower()
    if "@" in wanted:
        return wanted in recipients
    return bool(wanted) and any(r.partition("@")[0] == wanted for r in recipients)


class MaildirMailbox(Mailbox):
    def __init__(self, path: Path, url: str) -> None:
        self.path, self.url = path, url

    def check(self) -> None:
        if not self.path.is_dir() and not self.path.parent.is_dir():  # a mail server creates the Maildir itself
            raise BadInput(f"boîte aux lettres {self.url} : ni le dossier {self.path} ni son parent n'existent")

    def candidates(self, to: str, since: datetime) -> Iterable[EmailMessage]:
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            return []
        box = maildir_lib.Maildir(self.path, factory=None, create=False)
        return [email.message_from_bytes(box.get_bytes(key), policy=email.policy.default) for key in box.iterkeys()]


class ImapMailbox(Mailbox):
    def __init__(self, host: str, port: int, user: str, password: str, folder: str, tls: bool, url: str) -> None:
        self.host, self.port, self.user, self.folder, self.tls, self.url = host, port, user, folder, tls, url
        self._password = password

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.tls:
                context = ssl.create_default_context(cafile=ENVIRON.get(CAFILE_ENV) or None)
                return imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=30)
            return imaplib.IMAP4(self.host, self.port, timeout=30)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise RobotError(f"boîte aux lettres {self.url} injoignable : {_why_unreachable(exc, self)}") from None

    @contextlib.contextmanager
    def _opened(self) -> Iterator[imaplib.IMAP4]:
        """Connected, logged in, the folder selected (read only)."""
        imap = self._connect()
        try:
            try:
                imap.login(self.user, self._password)
            except imaplib.IMAP4.error as exc:
                raise BadInput(
                    f"boîte aux lettres {self.url} : connexion refusée pour {self.user} "
                    f"({REDACTOR.redact(str(exc))}) ; vérifiez {PASSWORD_ENV}"
                ) from None
            status, _ = imap.select(_quoted(self.folder), readonly=True)
            if status != "OK":
                raise BadInput(f"boîte aux lettres {self.url} : dossier « {self.folder} » introuvable")
            yield imap
        except (imaplib.IMAP4.error, OSError) as exc:
            raise RobotError(f"boîte aux lettres {self.url} : {REDACTOR.redact(str(exc))}") from None
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                imap.logout()

    def check(self) -> None:
        with self._opened():
            pass

    def candidates(self, to: str, since: datetime) -> Iterable[EmailMessage]:
        with self._opened() as imap:
            # SINCE compares dates only (RFC 3501): the day before, for time zones; the exact time is checked after.
            day = (since - timedelta(days=1)).strftime("%d-%b-%Y")
            status, data = imap.uid("SEARCH", "SINCE", day, "TO", _quoted(to))
            uids = data[0].split() if status == "OK" and data and data[0] else []
            messages = []
            for uid in uids:
                status, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts or [] if isinstance(p, tuple)), None)
                if status == "OK" and raw:
                    messages.append(email.message_from_bytes(raw, policy=email.policy.default))
            return messages


def open_mailbox(url: str, environ: Mapping[str, str] | None = None) -> Mailbox:
    """The mailbox a URL names (BadInput when the URL or its password is wrong)."""
    environ = ENVIRON if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme == "maildir":
        path = Path(unquote(parts.path))
        if parts.netloc or not path.is_absolute():
            raise BadInput(f"boîte aux lettres « {url} » : maildir:///CHEMIN/ABSOLU attendu")
        return MaildirMailbox(path, url)
    if parts.scheme not in ("imaps", "imap"):
        raise BadInput(f"boîte aux lettres « {url} » : maildir:///CHEMIN ou imaps://UTILISATEUR@HÔTE/DOSSIER attendu")
    if not parts.hostname or not parts.username:
        raise BadInput(f"boîte aux lettres « {url} » : {parts.scheme}://UTILISATEUR@HÔTE/DOSSIER attendu")
    if parts.password:
        raise BadInput(f"boîte aux lettres « {parts.scheme}://{parts.username}@{parts.hostname}… » : le mot de passe "
                       f"va dans {PASSWORD_ENV}, jamais dans l'URL")  # fmt: skip
    tls = parts.scheme == "imaps"
    if not tls and not (environ.get(INSECURE_ENV) == "1" and _loopback(parts.hostname)):
        raise BadInput(f"boîte aux lettres « {url} » : imap:// en clair seulement vers une adresse locale, avec "
                       f"{INSECURE_ENV}=1 ; utilisez imaps://")  # fmt: skip
    password = environ.get(PASSWORD_ENV, "")
    if not password:
        raise BadInput(f"boîte aux lettres « {url} » : donnez {PASSWORD_ENV} (environnement ou .env)")
    REDACTOR.add(password)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapMailbox(parts.hostname, parts.port or (993 if tls else 143), unquote(parts.username), password,
                       folder, tls, url)  # fmt: skip


def _why_unreachable(exc: Exception, box: ImapMailbox) -> str:
    if isinstance(exc, socket.gaierror):
        return f"hôte « {box.host} » inconnu ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"rien n'écoute sur {box.host}:{box.port} (connexion refusée)"
    if isinstance(exc, TimeoutError):
        return f"pas de réponse de {box.host}:{box.port}"
    return str(exc)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.astimezone()


def _message(raw: EmailMessage) -> Message | None:
    try:
        date = _aware(parsedate_to_datetime(str(raw["Date"])))
    except (TypeError, ValueError):
        return None
    body = raw.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    headers = [str(v) for v in raw.get_all("To", []) + raw.get_all("Cc", [])]
    recipients = tuple(a.lower() for _, a in getaddresses(headers))
    return Message(str(raw.get("Message-ID", "")), str(raw.get("From", "")), recipients, str(raw.get("Subject", "")),
                   date, text)  # fmt: skip
