"""What the account steps need besides the page: who reads a captcha, where the mails arrive.

A captcha is never defeated: a person reads it in the terminal (attended runs: the image is saved
under recordings/ and shown in the headed browser), or `--captcha-command CMD` is run with the
image's path as its last argument and its stdout is the answer. The robot never asks the mock.
"""

from __future__ import annotations

import argparse
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
from robots.secrets import ENVIRON, child_environment

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
                [*shlex.split(self.command), str(image)], capture_output=True, text=True, timeout=self.timeout_s,
                env=child_environment(),  # no password: the command reads an image, nothing else
            )  # fmt: skip
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
            url = self.mailbox_url or ENVIRON.get(MAILBOX_ENV)
            if not url:
                raise BadInput(
                    f"aucune boîte aux lettres pour lire les courriels du portail : --mailbox URL (ou {MAILBOX_ENV})"
                )
            self._mailbox = open_mailbox(url, mail_environ(self.insecure_mail))
        return self._mailbox


def mail_environ(insecure: bool) -> dict[str, str] | None:
    """The environment a mailbox URL is read with: `--insecure-mail` allows imap:// to a loopback address."""
    return {**ENVIRON, INSECURE_ENV: "1"} if insecure else None


def add_options(parser: argparse.ArgumentParser, mailbox_help: str = "") -> None:
    """--mailbox, --insecure-mail, --mail-timeout, --captcha-command: the same for `accounts create` and `run`."""
    parser.add_argument(
        "--mailbox", metavar="URL",
        help="boîte aux lettres des courriels du portail : imaps://UTILISATEUR@HÔTE[:PORT]/DOSSIER (mot de passe "
        f"dans CHORUS_ROBOT_IMAP_PASSWORD) ou maildir:///CHEMIN ; défaut : {MAILBOX_ENV}{mailbox_help}",
    )  # fmt: skip
    parser.add_argument(
        "--insecure-mail", action="store_true", help="accepter imap:// en clair vers une adresse locale (tests)"
    )
    parser.add_argument(
        "--mail-timeout", type=float, default=300, metavar="S", help="attendre un courriel au plus S secondes"
    )
    parser.add_argument(
        "--captcha-command", metavar="CMD",
        help="CMD IMAGE affiche les caractères du captcha ; sans elle, la personne au terminal les recopie",
    )  # fmt: skip


def from_args(args: argparse.Namespace) -> AccountServices:
    """The services the options of `add_options` (and --recordings) describe."""
    return AccountServices(
        captcha=CommandSolver(args.captcha_command) if args.captcha_command else TerminalSolver(),
        mailbox_url=args.mailbox, insecure_mail=args.insecure_mail, mail_timeout_s=args.mail_timeout,
        captcha_dir=Path(args.recordings) / "captcha",
    )  # fmt: skip


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
