"""What `chorus-robot survey` keeps of a screen holds no secret and no personal datum.

Three nets: the values the page itself labels as personal (a « Nom » column, « Téléphone : … », a field
labelled « Adresse électronique »), read in the page; what looks like an e-mail address, a phone number, an
IBAN or a person's name (« DUPONT Jean », « Jean DUPONT ») in the ARIA snapshot; the secrets the process
knows (REDACTOR). The snapshot's text has them all replaced by a mask; the screenshot paints over them, and
over every field (its value may be anyone's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from playwright.sync_api import Locator as PwLocator
from playwright.sync_api import Page

from robots.jobs.replay.privacy import HIDDEN
from robots.secrets import REDACTOR

PERSONAL = "«donnée personnelle»"
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_SURNAME = rf"[{_UPPER}][{_UPPER}'’-]+"
_GIVEN = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
PATTERNS = {
    "email": re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+"),
    "phone": re.compile(r"(?<![\w+])(?:\+33|0033|0)\s?\(?0?\)?\s?[1-9](?:[\s.-]?\d{2}){4}(?!\d)"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b"),
    "name": re.compile(
        rf"\b{_SURNAME}(?:\s+{_SURNAME})*\s+{_GIVEN}\b|\b{_GIVEN}(?:\s+{_GIVEN})?\s+{_SURNAME}(?:\s+{_SURNAME})*\b"
    ),
}
# Upper-case words of the portals that are not surnames (« Raccordement EDI », « Numéro SIRET », « Statut ACTIF »).
_NOT_NAMES = frozenset({
    "API", "EDI", "SIRET", "SIREN", "TVA", "INSEE", "TIC", "RCS", "PDF", "DGFIP", "URL", "IBAN", "BIC", "RIB", "ACTIF",
    "INACTIF", "FRANCE", "OK", "AIFE", "CPRO", "PISTE", "UO", "CSV", "XML", "UBL", "CII", "PES", "ASAP", "RIDET",
    "TAHITI", "HT", "TTC", "SA", "SAS", "SARL", "EURL", "EPCI", "CCAS",
})  # fmt: skip
_TEXTBOX_VALUE = re.compile(
    r'^(\s*- (?:textbox|searchbox|combobox|spinbutton)(?: "(?:[^"\\]|\\.)*")?[^:\n]*:) (.+)$', re.M
)
# Labels whose value is personal (compared without accents, case, « * » nor « : »).
_LABELS = [
    "nom", "prenom", "nom d'usage", "civilite et nom", "telephone", "telephone portable", "portable", "mobile", "fax",
    "adresse electronique", "adresse de connexion", "courriel", "e-mail", "email", "identifiant de connexion",
    "login", "gestionnaire principal", "iban", "bic", "rib", "utilisateur", "utilisateur technique",
]  # fmt: skip
_COLLECT = """labels => {
  const norm = t => (t || '').replace(/\\s+/g, ' ').trim();
  const key = t => norm(t).toLowerCase().normalize('NFD').replace(/[\\u0300-\\u036f]/g, '')
    .replace(/[*:]/g, '').replace(/’/g, "'").trim();
  const personal = t => labels.includes(key(t));
  const out = new Set();
  const add = v => { v = norm(v); if (v.length >= 2) out.add(v); };
  for (const table of document.querySelectorAll('table')) {
    const heads = [...table.querySelectorAll('thead th, thead td')].map(c => personal(c.textContent));
    for (const row of table.querySelectorAll('tbody tr, tr')) {
      const cells = [...row.children];
      cells.forEach((c, i) => { if (heads[i] && c.tagName !== 'TH') add(c.textContent); });
      if (cells.length >= 2 && personal(cells[0].textContent)) cells.slice(1).forEach(c => add(c.textContent));
    }
  }
  for (const el of document.querySelectorAll('label, dt, legend, .libelle, .control-label, span, strong, b')) {
    if (!personal(el.textContent)) continue;
    if (el.control && el.control.value) add(el.control.value);
    const next = el.nextElementSibling;
    if (next) add(next.value !== undefined && next.value !== '' ? next.value : next.textContent);
  }
  return [...out];
}"""


def labelled_values(page: Page) -> set[str]:
    """The values the page labels as personal (never a failure: an empty set when the page is gone)."""
    try:
        return set(page.evaluate(_COLLECT, _LABELS))
    except Exception:  # noqa: BLE001 - a page navigating away: the patterns still mask what they recognise
        return set()


def personal_values(text: str, known: Iterable[str] = ()) -> set[str]:
    """What must not be kept of `text`: the `known` values, then whatever the patterns recognise in it."""
    found = {value for value in known if len(value.strip()) >= 2}  # a field's value is masked where it shows only
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            if kind != "name" or _is_name(match.group(0)):
                found.add(match.group(0))
    found |= set(REDACTOR.values)
    return {value for value in found if value and value != PERSONAL}


def _is_name(text: str) -> bool:
    upper = [w for w in re.split(r"\s+", text) if w.isupper()]
    return any(w.strip("'’-") not in _NOT_NAMES for w in upper)


def scrub_text(text: str, values: Iterable[str]) -> str:
    """`text` with every value (any case), then every pattern's match, replaced by the mask."""
    text = _TEXTBOX_VALUE.sub(lambda m: f"{m.group(1)} {PERSONAL}", text)
    for value in sorted(set(values), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", PERSONAL, text, flags=re.IGNORECASE)
    for kind, pattern in PATTERNS.items():
        text = pattern.sub(lambda m, k=kind: PERSONAL if k != "name" or _is_name(m.group(0)) else m.group(0), text)
    return REDACTOR.redact(text)


def screenshot_masks(page: Page, values: Iterable[str], sensitive: list[PwLocator]) -> list[PwLocator]:
    """What the screenshot paints over: fields, secrets, and every element whose text holds a value."""
    fields = page.locator(f"{HIDDEN}, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea")
    shown = [page.get_by_text(value) for value in sorted(set(values), key=len, reverse=True) if len(value) >= 2]
    return [fields, *sensitive, *shown]
