"""Parsers for what the portal prints: French dates and numbers."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

FRENCH_MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
}  # fmt: skip


class ParseError(ValueError):
    pass


def french_datetime(text: str) -> str:
    """'18/05/2019 12:02:25' or '7 mai 2019 14:15:12' → '2019-05-18T12:02:25' (the wall time shown)."""
    text = " ".join(text.split())
    numeric = re.search(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", text)
    if numeric:
        day, month, year, hour, minute, second = numeric.groups()
    else:
        spelled = re.search(r"(\d{1,2})\s+([a-zéû]+)\s+(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", text.lower())
        if not spelled or spelled.group(2) not in FRENCH_MONTHS:
            raise ParseError(f"pas une date en français : « {text} »")
        day, month_name, year, hour, minute, second = spelled.groups()
        month = str(FRENCH_MONTHS[month_name])
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise ParseError(f"date invalide : « {text} » ({exc})") from None
    return value.isoformat(timespec="seconds")


def french_date(text: str) -> str:
    return french_datetime(text)[:10]


def integer(text: str) -> str:
    digits = re.search(r"-?\d[\d\s\u202f\u00a0]*", text)
    if not digits:
        raise ParseError(f"pas un nombre : « {text} »")
    return str(int(re.sub(r"\D", "", digits.group()) or 0) * (-1 if digits.group().startswith("-") else 1))


def text(value: str) -> str:
    return " ".join(value.split())


PARSERS: dict[str, Callable[[str], str]] = {
    "text": text, "french_date": french_date, "french_datetime": french_datetime, "integer": integer,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """The Luhn key of a string of digits (SIREN, SIRET)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


LA_POSTE_SIREN = "356000000"  # its establishments' SIRET follow another key rule
SIRET_KEY_WRONG = "la clé de contrôle du SIRET est fausse (un chiffre mal recopié ?)"  # what a person is told


def siret_problem(siret: str) -> str | None:
    """The one SIRET check of the project (account rows, desired state, the mock portal): None for a SIRET,
    "format" when it is not 14 digits, "key" when its key is wrong — the Luhn key, or for La Poste's
    establishments (SIREN 356000000) the sum of the digits a multiple of 5."""
    if not re.fullmatch(r"\d{14}", siret):
        return "format"
    if siret.startswith(LA_POSTE_SIREN):
        return None if sum(int(c) for c in siret) % 5 == 0 else "key"
    return None if luhn_valid(siret) else "key"


def siret_valid(siret: str) -> bool:
    return siret_problem(siret) is None


def with_luhn_key(digits: str) -> str:
    """The digits followed by the one digit that makes their Luhn key right (generated SIRETs: bench, tests)."""
    return next(digits + key for key in "0123456789" if luhn_valid(digits + key))


def short_moment(value: str | None) -> str:
    """One format for every moment a person reads: JJ/MM/AAAA HH:MM ("-" when unknown)."""
    if not value:
        return "-"
    try:
        return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return value
