"""What the account steps need besides the page: who reads a captcha, where the mails arrive.

A captcha is never defeated: a person reads it in the terminal (attended runs: the image is saved
under recordings/ and shown in the headed browser), or `--captcha-command CMD` is run with the
image's path as its last argument and its stdout is the answer. The robot never asks the mock.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from robots.errors import BadInput, RobotError
from robots.integrations.mailbox import INSECURE_ENV, Mailbox, open_mailbox
from robots.secrets import ENVIRON, REDACTOR, child_environment

MAILBOX_ENV = "CHORUS_ROBOT_MAILBOX"
CAPTCHA_TIMEOUT_S = 300  # --captcha-timeout: a person or a service reading one image


class CaptchaSolver(Protocol):
    def solve(self, image: Path) -> str: ...

    def check(self) -> None:
        """Raises BadInput when this solver cannot work (before the portal is touched)."""


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

    def check(self) -> None:
        if not sys.stdin.isatty():
            raise BadInput(
                "--captcha-command : sans elle, une personne au terminal recopie chaque captcha, et il n'y a pas de "
                "terminal ici ; donnez --captcha-command CMD"
            )


@dataclass
class CommandSolver:
    """`--captcha-command CMD`: CMD IMAGE_PATH prints the characters on its standard output."""

    command: str
    timeout_s: float = CAPTCHA_TIMEOUT_S

    def argv(self) -> list[str]:
        try:
            words = shlex.split(self.command)
        except ValueError as exc:
            raise BadInput(f"--captcha-command « {self.command} » : {exc} (guillemets non fermés ?)") from None
        if not words:
            raise BadInput("--captcha-command est vide")
        return words

    def check(self) -> None:
        """The program exists and is executable (its arguments are its own business)."""
        program = self.argv()[0]
        if shutil.which(program):
            return
        if "/" not in program or not Path(program).exists():
            raise BadInput(f"--captcha-command « {self.command} » : programme « {program} » introuvable")
        raise BadInput(f"--captcha-command « {self.command} » : « {program} » n'est pas un programme exécutable"
                       f" (chmod +x {program} ?)")  # fmt: skip

    def solve(self, image: Path) -> str:
        try:
            done = subprocess.run(
                [*self.argv(), str(image)], capture_output=True, text=True, timeout=self.timeout_s,
                env=child_environment(),  # no password: the command reads an image, nothing else
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RobotError(
                f"--captcha-command « {self.command} » : pas de réponse après {self.timeout_s:g} s (arrêtée ; "
                "--captcha-timeout S pour attendre plus)"
            ) from None
        except OSError as exc:
            raise RobotError(f"--captcha-command « {self.command} » : {exc.strerror or exc}") from None
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

    def check(self) -> None:
        """Before the portal is touched: the captcha solver can work; the mailbox is there, reachable, its login
        works and its folder exists. BadInput (exit 2) or RobotError (unreachable, exit 1), naming the option."""
        self.captcha.check()
        option = "--mailbox" if self.mailbox_url or not ENVIRON.get(MAILBOX_ENV) else MAILBOX_ENV
        try:
            self.mailbox().check()
        except RobotError as exc:
            message = f"{option} : {REDACTOR.redact(str(exc))}"
            raise (BadInput(message) if isinstance(exc, BadInput) else RobotError(message)) from None


def mail_environ(insecure: bool) -> dict[str, str] | None:
    """The environment a mailbox URL is read with: `--insecure-mail` allows imap:// to a loopback address."""
    return {**ENVIRON, INSECURE_ENV: "1"} if insecure else None


def add_options(parser: argparse.ArgumentParser, mailbox_help: str = "") -> None:
    """--mailbox, --insecure-mail, --mail-timeout, --captcha-command, --captcha-timeout: the same for `accounts
    create` and `run`."""
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
    parser.add_argument(
        "--captcha-timeout", type=_positive_seconds, default=CAPTCHA_TIMEOUT_S, metavar="S",
        help="arrêter --captcha-command restée S secondes sans réponse (ce captcha échoue)",
    )  # fmt: skip


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre de secondes") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre de secondes positif est attendu")
    return seconds


def from_args(args: argparse.Namespace) -> AccountServices:
    """The services the options of `add_options` (and --recordings) describe."""
    return AccountServices(
        captcha=CommandSolver(args.captcha_command, args.captcha_timeout) if args.captcha_command else TerminalSolver(),
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
