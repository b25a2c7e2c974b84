"""Reading a generated password when the catalogue's way fails: the password-shaped token of the sentence
that speaks of it. After « Confirmer » the old password is dead, so a read that fails there must not lose
the new one: this is the fallback before the page's text is sealed for a person to read.
"""

from __future__ import annotations

import re
import unicodedata

# A generated password: printable ASCII, no spaces or quotes, 8 to 64 characters, several kinds of
# characters (the real ones seen: 12 alphanumerics, 13 with « ( » or « 0 _ », 14 with « [ », 16 with « -{&:|+; »).
_TOKEN = re.compile(r"^[!-~]{8,64}$")
_WORDISH = re.compile(r"^[A-Z]?[a-z]+(?:-[a-z]+)*$")  # words of a sentence (« conservez-le »), not passwords
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_MENTION = re.compile(r"mot\s+de\s+passe", re.IGNORECASE)


def plain(text: str) -> str:
    """Lower case, accents off, spaces collapsed: how two labels are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")  # an address of the sentence (« à l'adresse x@y.fr »)


def looks_like_password(token: str, *, set_apart: bool = False) -> bool:
    """Whether `token` has a generated password's shape. « @ » and « . » are in today's generated passwords
    (evidence B5): an address's shape (« p@$O12aREg.hJ », one password in about 1,200) is no password among the
    words of a sentence, which may name an address, but is one when the page set it apart where the password
    goes (`set_apart`: the word emphasised in its sentence, or the one the catalogue's `extract` took)."""
    if not _TOKEN.match(token) or any(c in token for c in "'\"`«»") or _WORDISH.match(token):
        return False
    if not set_apart and _EMAIL.match(token):
        return False
    kinds = (
        any(c.islower() for c in token), any(c.isupper() for c in token), any(c.isdigit() for c in token),
        any(not c.isalnum() for c in token),
    )  # fmt: skip
    return sum(kinds) >= 2


def _tokens(sentence: str) -> list[str]:
    cleaned = []
    for raw in sentence.split():
        # « . » and « , » end sentences (a password ending with one is read whole from the page's markup first:
        # reading.emphasised_password); parentheses go only when they wrap the word, « ( » is in passwords
        word = raw.strip("«»\"'").rstrip(".,")
        cleaned.append(word[1:-1] if word.startswith("(") and word.endswith(")") else word)
    return cleaned


def password_in_text(text: str) -> str | None:
    """The one password-shaped token of the sentences that mention « mot de passe », if exactly one."""
    found: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if not _MENTION.search(sentence):
            continue
        after = _MENTION.split(sentence, maxsplit=1)[-1]
        candidates = [t for t in _tokens(after) if looks_like_password(t)]
        candidates = candidates or [t for t in _tokens(sentence) if looks_like_password(t)]
        found.extend(c for c in candidates if c not in found)
    return found[0] if len(found) == 1 else None
