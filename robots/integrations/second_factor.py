"""Where the second-factor code of a portal login comes from: a mailbox, an authenticator secret, a person.

The login flow types `${secret.second_factor_code}` when the portal shows its code screen; the secret is
obtained at that moment from the account's source. A code is never logged: it is registered with the
redactor like any secret, and only « code obtenu » is written.
"""

from __future__ import annotations

import getpass
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
from loguru import logger

from robots.errors import BadInput, NoMessage, RobotError, StepFailed
from robots.integrations.mailbox import Mailbox, open_mailbox
from robots.secrets import ENVIRON

SECRET_NAME = "second_factor_code"
TOTP_ENV = "CHORUS_TOTP_SECRET"  # `run`'s authenticator secret (base32)
CODE_WAIT_S = 120
_CODE = r"(?<!\d)(\d{6})(?!\d)"
_LINK = r"<?\w+://\S+"  # a link's token may hold six digits in a row: not a code
NO_SOURCE = (
    "le portail demande un second facteur (la page « Code à usage unique » qui suit le mot de passe) et aucune "
    "source de code n'est donnée ; aucun code n'a été tapé, rien n'a changé sur le portail. Donnez-en une : "
    f"pour `run`, --mailbox URL (le code envoyé à CHORUS_LOGIN) ou la variable {TOTP_ENV}, ou lancez-le à un "
    "terminal pour taper le code ; pour `renew`, dans le roster, `second_factor: email` avec `mailbox:` ou "
    "`second_factor: totp` avec `totp_env:`"
)

_used_lock = threading.Lock()
_used_messages: set[str] = set()  # an e-mailed code is typed once, even when two logins come in the same second


class CodeSource:
    what: str = ""

    def code(self) -> str:
        raise NotImplementedError


@dataclass
class TotpCode(CodeSource):
    secret: str
    what: str = "application d'authentification (TOTP)"

    def code(self) -> str:
        try:
            return pyotp.TOTP(self.secret).now()
        except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
            raise BadInput(f"le secret TOTP n'est pas du base32 valide : {type(exc).__name__}") from None


@dataclass
class MailedCode(CodeSource):
    mailbox: Mailbox
    address: str
    since: datetime = field(default_factory=lambda: datetime.now().astimezone())
    timeout_s: float = CODE_WAIT_S

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"code envoyé à {self.address} ({self.mailbox.url})"

    def code(self) -> str:
        with _used_lock:
            used = set(_used_messages)
        try:
            message = self.mailbox.wait(
                self.address, self.since, self.timeout_s, exclude=used, matching=lambda m: bool(code_in(m.text))
            )
        except NoMessage as exc:
            raise RobotError(f"{exc} : aucun ne contient de code à 6 chiffres") from None
        with _used_lock:
            _used_messages.add(message.message_id)
        logger.info("  code de vérification reçu à {} ({:%H:%M:%S})", self.address, message.date)
        return code_in(message.text)


def code_in(text: str) -> str:
    """The 6-digit code of a message's text, or "" (other messages to the same address — an activation link sent
    in the same second — are not the code's)."""
    found = re.search(_CODE, re.sub(_LINK, " ", text))
    return found.group(1) if found else ""


@dataclass
class AccountMailboxCode(CodeSource):
    """A new user's first login (`accounts create`): the code mailed to her address, read from the mailbox the
    account commands read the portal's e-mails from (--mailbox, robots.integrations.account_services)."""

    address: str
    since: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"code envoyé à {self.address}"

    def code(self) -> str:
        from robots.integrations import account_services as services

        account_services = services.current()
        mailed = MailedCode(account_services.mailbox(), self.address, self.since, account_services.mail_timeout_s)
        return mailed.code()


@dataclass
class AskedCode(CodeSource):
    """An attended run: the person types the code she received (not echoed)."""

    prompt: str = "Code de vérification reçu (second facteur) : "
    what: str = "code demandé à la personne"

    def code(self) -> str:
        return getpass.getpass(self.prompt).strip()


def attended() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def sources(source: CodeSource | None) -> dict[str, Callable[[], str]]:
    """The SecretProvider sources for a login: `second_factor_code` from that source, or a clear failure."""

    def obtain() -> str:
        if source is None:
            raise StepFailed(NO_SOURCE, kind="second_factor")
        try:
            value = source.code()
        except RobotError as exc:
            raise StepFailed(f"second facteur ({source.what}) : {exc}", kind="second_factor") from None
        logger.info("  code du second facteur obtenu ({})", source.what)
        return value

    return {SECRET_NAME: obtain}


def sources_for_run(
    mailbox_url: str | None, environ: dict[str, str] | None = None, mail_environ: dict[str, str] | None = None
) -> dict[str, Callable[[], str]]:
    """`run`: --mailbox (the code mailed to CHORUS_LOGIN, or to DGFIP_LOGIN's address), else CHORUS_TOTP_SECRET,
    else ask at a terminal.

    `mail_environ`: what the mailbox URL is read with (`--insecure-mail`, account_services.mail_environ)."""
    environ = dict(ENVIRON) if environ is None else environ
    address = environ.get("CHORUS_LOGIN") or environ.get("DGFIP_LOGIN", "")  # the DGFiP entry: its identifiant
    if mailbox_url:
        return sources(source_for("email", address=address, mailbox_url=mailbox_url, mail_environ=mail_environ))
    if environ.get(TOTP_ENV):
        from robots.secrets import REDACTOR

        REDACTOR.add(environ[TOTP_ENV])
        return sources(TotpCode(environ[TOTP_ENV]))
    return sources(AskedCode() if attended() else None)


def source_for(
    kind: str | None,
    *,
    address: str,
    mailbox_url: str | None = None,
    totp_secret: str | None = None,
    since: datetime | None = None,
    mail_environ: dict[str, str] | None = None,
) -> CodeSource | None:
    """The code source of a login (None: no second factor configured)."""
    if kind == "email":
        if not mailbox_url:
            raise BadInput("second facteur par courriel : il faut l'URL d'une boîte aux lettres")
        mailed = MailedCode(open_mailbox(mailbox_url, mail_environ), address)
        if since:
            mailed.since = since
        return mailed
    if kind == "totp":
        if not totp_secret:
            raise BadInput("second facteur TOTP : le secret manque")
        return TotpCode(totp_secret)
    if kind == "ask":
        return AskedCode()
    return None
