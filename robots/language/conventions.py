"""What every sub-command of `chorus-robot` shares: help showing defaults and exit codes, shell
completion, and the checks that turn a wrong command line into a sentence and exit 2.

Exit codes: 0 done; 1 the portal or a step failed (or a renewal did); 2 bad input (file, option,
value); 4 another run holds the lock; 130 interrupted (Ctrl-C); 141 output closed early (`| head`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from robots.errors import BadInput

EXIT_CODES = (
    "Codes de sortie : 0 terminé ; 1 échec sur le portail (une étape, une structure) ; "
    "2 entrée invalide (fichier, option, valeur) ; 4 une autre exécution tient le verrou ; "
    "130 interrompu (Ctrl-C)."
)
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `… | head`


class HelpFormatter(argparse.HelpFormatter):
    """Each option's default at the end of its help, in French, unless the help already gives it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default not in (None, False, argparse.SUPPRESS, [], "") and "%(default)" not in text
        if shown and "défaut" not in text and action.option_strings:
            text += " (défaut : %(default)s)"
        return text


def dress(parser: argparse.ArgumentParser) -> None:
    """Defaults and exit codes in the help of the command and each of its sub-commands."""
    parser.formatter_class = HelpFormatter
    parser.epilog = parser.epilog or EXIT_CODES
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                dress(sub)


def complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion through argcomplete, when it is installed (`eval "$(register-python-argcomplete
    chorus-robot)"`); a no-op otherwise, and outside a completion request."""
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def flow_path(given: str) -> Path:
    """A flow file, or a flow's name looked up in the working directory's flows/ then the packaged ones, then in
    flows/common/ (`run reset_technical_password`)."""
    path = Path(given)
    if path.is_file() or path.suffix in (".yaml", ".yml") or "/" in given:
        return path
    from robots.language.layers import named_flow

    if found := named_flow(given):
        return found
    raise BadInput(f"flow « {given} » introuvable : ni un fichier, ni un nom de flows/ (voir chorus-robot validate)")


def check_variables(flow_file: Path, given: dict[str, str]) -> None:
    """An unknown --var is refused: a misspelt input would otherwise be silently ignored."""
    known: set[str] = set()
    _inputs(flow_file, known, set())
    unknown = sorted(set(given) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "aucune"
        raise BadInput(f"--var {', '.join(unknown)} : entrée inconnue du flow {flow_file} (entrées : {accepted})")


def _inputs(flow_file: Path, known: set[str], seen: set[Path], given: frozenset[str] = frozenset()) -> None:
    """The inputs a person may give: the flow's and those of the flows it calls (a caller's variables reach its
    sub-flows), except what a caller already passes with `with:` (`after_login`: the flow's own business)."""
    from robots.language.files import calls_in, load_flow
    from robots.language.layers import sub_flow

    path = flow_file.resolve()
    if path in seen or not path.is_file():
        return
    seen.add(path)
    flow = load_flow(path)
    known.update(set(flow.inputs) - given)
    for step in calls_in(flow):
        _inputs(sub_flow(path, step.call.flow), known, seen, frozenset(step.call.with_))


def require_display(headed: bool) -> None:
    """--headed needs a screen: say so instead of Chromium's « Missing X server » stack."""
    screen = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if headed and sys.platform.startswith("linux") and not screen:
        raise BadInput("--headed : pas d'écran ici (DISPLAY et WAYLAND_DISPLAY vides) ; lancez sans --headed, "
                       "ou sous xvfb-run pour un écran virtuel")  # fmt: skip


def require_file(path: Path, option: str) -> None:
    if not path.is_file():
        raise BadInput(f"{option} {path} : fichier introuvable")


def quiet_broken_pipe() -> int:
    """The reader went away (`chorus-robot screens | head -3`): stop without a word."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_BROKEN_PIPE


# argparse's own words (usage, errors), in French: it looks them up through gettext's `_`.
ARGPARSE_FR = {
    "usage: ": "usage : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "show program's version number and exit": "afficher la version et quitter",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (au choix : %(choices)s)",
    "expected one argument": "une valeur attendue",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "invalid %(type)s value: %(value)r": "valeur %(type)s invalide : %(value)r",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut être %(matches)s",
}


def speak_french() -> None:
    """argparse's usage and error lines in French, like the rest of the command."""
    original = argparse._
    if getattr(original, "french", False):
        return

    def translate(text: str) -> str:
        return ARGPARSE_FR.get(text, original(text))

    translate.french = True  # type: ignore[attr-defined]
    argparse._ = translate  # type: ignore[attr-defined]
