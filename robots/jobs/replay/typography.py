"""French typography for printed text: no line starting with « » » or « : », none ending with « « ».

French puts a space inside « … » and before : ; ! ? — a breakable space there lets a line end with
« « » or start with « » ». These spaces become non-breaking, « A > B » chains hold together, and a
short quotation (`SHORT_QUOTE` characters at most) is kept on one line whole (`nowrap` span in HTML).
"""

from __future__ import annotations

import html
import re

NBSP = "\u00a0"
SHORT_QUOTE = 48  # longer quotations may break between words (never right after « nor before »)
_BEFORE_SIGN = re.compile(r" +([:;!?»])")
_AFTER_QUOTE = re.compile(r"« +")
_CHAIN = re.compile(r" +> +")


def french_spaces(text: str) -> str:
    """The text with non-breaking spaces where French typography wants them."""
    text = _AFTER_QUOTE.sub("«" + NBSP, text)
    text = _BEFORE_SIGN.sub(NBSP + r"\1", text)
    return _CHAIN.sub(f"{NBSP}>{NBSP}", text)


def quotations(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost « … » of the text (nested quotations belong to theirs)."""
    spans, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "«":
            if depth == 0:
                start = index
            depth += 1
        elif char == "»" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, index + 1))
    return spans


def html_text(text: str) -> str:
    """Escaped HTML of `text`, French spaces, each short quotation in a span that never breaks."""
    text = french_spaces(text)
    parts, last = [], 0
    for start, end in quotations(text):
        parts.append(html.escape(text[last:start]))
        quoted = html.escape(text[start:end])
        parts.append(f'<span class="q">{quoted}</span>' if end - start <= SHORT_QUOTE else quoted)
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def unbreakable_words(text: str) -> list[str]:
    """The pieces a line can break between, as `html_text` prints them (for estimating heights)."""
    text = french_spaces(text)
    for start, end in reversed(quotations(text)):
        if end - start <= SHORT_QUOTE:
            text = text[:start] + text[start:end].replace(" ", NBSP) + text[end:]
    return [word for word in text.split(" ") if word]
