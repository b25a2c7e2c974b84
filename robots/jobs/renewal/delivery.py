"""Where a new technical password goes: the vault (always), an IT service's mailbox, a command hook.

E-mail settings come from the environment (or `.env`):
  CHORUS_ROBOT_SMTP_HOST (required for e-mail deliveries), CHORUS_ROBOT_SMTP_PORT (587 with STARTTLS,
  465 with SSL, else 25), CHORUS_ROBOT_SMTP_STARTTLS (1 by default; 0 for a local relay),
  CHORUS_ROBOT_SMTP_SSL (1 for implicit TLS), CHORUS_ROBOT_SMTP_USER, CHORUS_ROBOT_SMTP_PASSWORD,
  CHORUS_ROBOT_SMTP_FROM (default chorus-robot@<host name>), CHORUS_ROBOT_SMTP_CAFILE (a private CA).
A command hook gets the password on stdin (followed by a newline), never in its arguments or its
environment; CHORUS_STRUCTURE, CHORUS_RAISON_SOCIALE, CHORUS_TECHNICAL_LOGIN and CHORUS_EXPIRES_AT
are set; a non-zero exit or a timeout is a failed delivery, retried by the next run.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from loguru import logger

from robots.errors import BadInput, DeliveryFailed
from robots.jobs.renewal.roster import Delivery, EmailDelivery
from robots.secrets import ENVIRON, REDACTOR, child_environment, withhold
from robots.store.crash_points import crash_point
from robots.store.vault import Vault

SMTP_PREFIX = "CHORUS_ROBOT_SMTP_"
SMTP_TIMEOUT_S = 30
CORAIL_PATH = (
    "Environnement › Gestion des collectivités › onglet Transfert › Facture dématérialisée › "
    "« Paramétrage de la récupération des factures dématérialisées » : Compte technique, Mot de passe technique"
)


@dataclass(frozen=True)
class NewPassword:
    identifiant: str
    login: str
    password: str
    expires_at: str | None
    raison_sociale: str = ""


# ---------------------------------------------------------------- targets as stored in the journal


def target_of(delivery: Delivery) -> tuple[dict[str, Any], str]:
    """The JSON form of a roster delivery, and its label for reports."""
    if isinstance(delivery, EmailDelivery):
        return {"email": delivery.email}, f"email:{delivery.email}"
    return {"command": delivery.command, "timeout_s": delivery.timeout_s}, "command:" + " ".join(delivery.command)


def deliver(target: Mapping[str, Any], new: NewPassword, vault: Vault) -> None:
    """Delivers to one stored target; raises DeliveryFailed."""
    if target.get("vault"):
        recorded = target["vault"]  # the path of the vault the password was meant for (True: older journals)
        destination = vault.at(Path(recorded)) if isinstance(recorded, str) else vault
        destination.put(new.identifiant, login=new.login, password=new.password, expires_at=new.expires_at)
    elif "email" in target:
        crash_point("during-delivery")
        send_password_email(SmtpSettings.from_env(), str(target["email"]), new)
    elif "command" in target:
        crash_point("during-delivery")
        run_hook(list(target["command"]), new, float(target.get("timeout_s", 60)))
    else:
        raise DeliveryFailed(f"destination de livraison inconnue {sorted(target)}")


# ---------------------------------------------------------------- e-mail


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    ssl: bool
    user: str | None
    password: str | None
    sender: str
    cafile: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env = ENVIRON if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            return env.get(SMTP_PREFIX + name) or default

        host = get("HOST")
        if not host:
            raise BadInput(
                f"les livraisons par courriel demandent {SMTP_PREFIX}HOST (et en général _USER, _PASSWORD, _FROM)"
            )
        use_ssl = _flag(get("SSL", "0"), "SSL")
        starttls = not use_ssl and _flag(get("STARTTLS", "1"), "STARTTLS")
        port_text = get("PORT", "465" if use_ssl else "587" if starttls else "25") or ""
        if not port_text.isdigit():
            raise BadInput(f"{SMTP_PREFIX}PORT « {port_text} » n'est pas un numéro de port")
        password = get("PASSWORD")
        REDACTOR.add(password)
        return cls(
            host=host, port=int(port_text), starttls=starttls, ssl=use_ssl, user=get("USER"), password=password,
            sender=get("FROM", f"chorus-robot@{socket.getfqdn()}") or "", cafile=get("CAFILE"),
        )  # fmt: skip


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("1", "true", "yes", "oui", "on"):
        return True
    if text in ("0", "false", "no", "non", "off", ""):
        return False
    raise BadInput(f"{SMTP_PREFIX}{name} « {value} » : 1 ou 0 attendu")


def password_message(sender: str, recipient: str, new: NewPassword) -> EmailMessage:
    """The SIAGEP procedure's message: who and until when in the subject, the password only in the body."""
    name = f"{new.raison_sociale} ({new.identifiant})" if new.raison_sociale else new.identifiant
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Chorus Pro : nouveau mot de passe de l'utilisateur technique — {name}"
    message.set_content(
        "Bonjour,\n\n"
        f"Le mot de passe de l'utilisateur technique Chorus Pro de la structure {name} a été réinitialisé.\n\n"
        f"Structure : {new.identifiant} {new.raison_sociale}\n"
        f"Utilisateur technique (compte technique) : {new.login}\n"
        f"Nouveau mot de passe : {new.password}\n"
        f"Expiration du mot de passe : {_french(new.expires_at)}\n\n"
        "L'ancien mot de passe ne fonctionne plus : reportez le nouveau dans le connecteur qui télécharge les "
        f"factures (Corail : {CORAIL_PATH}).\n\n"
        "Message envoyé par chorus-robot (renouvellement automatique des mots de passe techniques).\n"
    )
    return message


def _french(expires_at: str | None) -> str:
    if not expires_at:
        return "non relevée"
    date, _, time = expires_at.partition("T")
    year, month, day = date.split("-")
    return f"{day}/{month}/{year} {time[:8]}".strip()


def send_password_email(settings: SmtpSettings, recipient: str, new: NewPassword) -> None:
    send_email(settings, password_message(settings.sender, recipient, new))


def stamped(message: EmailMessage) -> EmailMessage:
    """`Date:` and `Message-ID:` on every message the robot sends (mail filters and archives expect both)."""
    if "Date" not in message:
        message["Date"] = formatdate(localtime=True)
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid("chorus-robot", domain=socket.getfqdn() or "localhost")
    return message


def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    stamped(message)
    context = ssl.create_default_context(cafile=settings.cafile)
    try:
        if settings.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=SMTP_TIMEOUT_S, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if settings.starttls:
                client.starttls(context=context)
                client.ehlo()
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {settings.host}:{settings.port}: {REDACTOR.redact(str(exc))}") from None


# ---------------------------------------------------------------- command hook


def hide_variables(names: list[str]) -> None:
    """Keeps these variables (the roster's credentials) away from hooks and from every other child process."""
    withhold(names)


def hook_environment(new: NewPassword, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The hook's environment: what every child gets (no secret: robots.secrets.child_environment), plus the
    structure's facts."""
    env = child_environment(base, hidden_values=[new.password])
    env.update(
        CHORUS_STRUCTURE=new.identifiant, CHORUS_RAISON_SOCIALE=new.raison_sociale,
        CHORUS_TECHNICAL_LOGIN=new.login, CHORUS_EXPIRES_AT=new.expires_at or "",
    )  # fmt: skip
    return env


def run_hook(command: list[str], new: NewPassword, timeout_s: float) -> None:
    shown = " ".join(command)
    try:
        done = subprocess.run(
            command, input=new.password + "\n", capture_output=True, text=True, timeout=timeout_s,
            env=hook_environment(new), cwd=Path.cwd(), check=False,
        )  # fmt: skip
    except FileNotFoundError:
        raise DeliveryFailed("programme introuvable") from None  # the delivery's label names the command
    except PermissionError:
        raise DeliveryFailed("programme non exécutable") from None
    except subprocess.TimeoutExpired:
        raise DeliveryFailed(f"pas de réponse après {timeout_s:g} s (arrêtée)") from None
    output = REDACTOR.redact((done.stderr or done.stdout or "").strip())
    if output:
        logger.debug("  command « {} » said: {}", shown, output[-500:])
    if done.returncode != 0:
        tail = output.splitlines()[-1] if output else "sans rien afficher"
        raise DeliveryFailed(f"terminée avec le code {done.returncode} : {tail[:300]}")
