"""What the account steps need besides the page: who reads a captcha, where the mails arrive.

A captcha is never defeated: a person reads it in the terminal (attended runs: the image is saved
under recordings/ and shown in the headed browser), or `--captcha-command CMD` is run with the
image's path as its last argument and its stdout is the answer. The robot never asks the mock.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from robots.errors import BadInput, RobotError
from robots.mailbox import INSECURE_ENV, Mailbox, open_mailbox

MAILBOX_ENV = "CHORUS_ROBOT_MAILBOX"


class CaptchaSolver(Protocol):
    def solve(self, image: Path) -> str: ...


@dataclass
class TerminalSolver:
    """Attended runs: the person at the terminal types the characters they see."""

    def solve(self, image: Path) -> str:
        if not sys.stdin.isatty():
            raise RobotError(
                f"captcha ({image}) : personne au terminal pour le lire ; donnez --captcha-command CMD "
                "pour un service qui a son propre moyen"
            )
        print(f"Captcha enregistré dans {image} (affiché dans le navigateur en mode --headed).", file=sys.stderr)
        return input("Recopiez les 5 caractères affichés dans l'image : ").strip()


@dataclass
class CommandSolver:
    """`--captcha-command CMD`: CMD IMAGE_PATH prints the characters on its standard output."""

    command: str
    timeout_s: float = 300

    def solve(self, image: Path) -> str:
        try:
            done = subprocess.run(
                [*shlex.split(self.command), str(image)], capture_output=True, text=True, timeout=self.timeout_s
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RobotError(f"--captcha-command « {self.command} » : {exc}") from None
        answer = done.stdout.strip()
        if done.returncode != 0 or not answer:
            detail = done.stderr.strip().splitlines()[-1:] or [f"code {done.returncode}"]
            raise RobotError(f"--captcha-command « {self.command} » n'a pas donné de réponse ({detail[0]})")
        return answer.splitlines()[-1].strip()


@dataclass
class AccountServices:
    captcha: CaptchaSolver = field(default_factory=TerminalSolver)
    mailbox_url: str | None = None
    insecure_mail: bool = False
    mail_timeout_s: float = 300
    captcha_dir: Path = Path("recordings/captcha")
    _mailbox: Mailbox | None = None

    def mailbox(self) -> Mailbox:
        if self._mailbox is None:
            url = self.mailbox_url or os.environ.get(MAILBOX_ENV)
            if not url:
                raise BadInput(f"aucune boîte aux lettres pour lire les courriels du portail :"
                    f" --mailbox URL (ou {MAILBOX_ENV})")
            environ = {**os.environ, INSECURE_ENV: "1"} if self.insecure_mail else None  # --insecure-mail
            self._mailbox = open_mailbox(url, environ)
        return self._mailbox


_CURRENT: ContextVar[AccountServices | None] = ContextVar("account_services", default=None)


def current() -> AccountServices:
    """The services of the running command; attended defaults otherwise (`chorus-robot run`)."""
    services = _CURRENT.get()
    if services is None:
        services = AccountServices()
        _CURRENT.set(services)
    return services


@contextmanager
def using(services: AccountServices) -> Iterator[AccountServices]:
    token = _CURRENT.set(services)
    try:
        yield services
    finally:
        _CURRENT.reset(token)
