"""Secrets: resolved by name from the environment or `.env`, scrubbed from everything written, and kept
from every child process.

Every secret value the run resolves or captures is registered with the process-wide `REDACTOR`;
logs, reports and recordings pass through it before they reach a file or a terminal. Secret variables
leave `os.environ` for the command's lifetime (`sealed_environment`, below), so that no child inherits them.
"""

from __future__ import annotations

import html
import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from dotenv import dotenv_values, load_dotenv

from robots.errors import BadInput
from robots.support.yamlfile import not_utf8

MASK = "«secret»"
_SHORTEST_SECRET = 4  # below this a value would mask ordinary words


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None  # every form of every value, longest first; None: to build

    def add(self, value: str | None) -> None:
        if value and len(value) >= _SHORTEST_SECRET:
            with self._lock:
                if value not in self._values:
                    self._values.add(value)
                    self._pattern = None

    @property
    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Every secret, in every form, replaced in one pass; a mask already there is left whole, so that text
        redacted twice (a log line, then its sink) reads the same (never « ««secret»» » when a secret is a part of
        the mask)."""
        pattern = self._compiled()
        if pattern is None:
            return text
        return MASK.join(pattern.sub(MASK, part) for part in text.split(MASK))

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                forms = {form for value in self._values for form in _forms(value)}
                self._pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            return self._pattern

    def redact_data(self, data: object) -> object:
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {k: self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data


def _forms(value: str) -> tuple[str, ...]:
    """A secret as it may be written: as is; URL-encoded (a form's body, a URL's query string in an error message);
    HTML-escaped (an element Playwright quotes in an error, « <input value="a&amp;b"> », a password holding « & »)."""
    return (value, quote(value, safe=""), quote_plus(value), html.escape(value), html.escape(value, False))


REDACTOR = Redactor()


class SecretProvider:
    """Looks secrets up by the name a flow gives them; `env_names` maps a name to its variable."""

    def __init__(
        self, env_names: Mapping[str, str], environ: Mapping[str, str] | None = None,
        sources: Mapping[str, Callable[[], str]] | None = None,
    ) -> None:  # fmt: skip
        self.env_names = dict(env_names)
        self._environ = environ if environ is not None else ENVIRON
        # Secrets obtained at the moment they are used (a second-factor code), by name; before the environment.
        self.sources = dict(sources or {})

    def with_defaults(self, declared: Mapping[str, Any]) -> SecretProvider:
        """Adds a flow's declared secrets ({name: SecretSpec}); names already mapped keep their variable."""
        defaults = {name: spec.env for name, spec in declared.items()}
        return SecretProvider({**defaults, **self.env_names}, self._environ, self.sources)

    def get(self, name: str) -> str:
        if name in self.sources:
            value = self.sources[name]()
            REDACTOR.add(value)
            return value
        env_name = self.env_names.get(name)
        if env_name is None:
            raise BadInput(f"secret « {name} » non déclaré dans les `secrets` du flow")
        value = self._environ.get(env_name)
        if not value:
            raise BadInput(
                f"secret « {name} » : renseignez la variable d'environnement {env_name} (ou mettez-la dans .env)"
            )
        REDACTOR.add(value)
        return value


# ---------------------------------------------------------------- what child processes inherit
#
# The robot reads its secrets from the environment (and `.env`), then every child — Playwright's driver,
# Chromium, ffmpeg, a captcha command, a delivery hook — starts without them. Inside `sealed_environment()`
# (every `chorus-robot` command) a secret variable is moved out of `os.environ` into this module, where
# `ENVIRON` still finds it; `withhold()` adds the names a roster or a flow gives, and `child_environment()` is
# what a subprocess started by the robot itself receives.

# Conservative: a name that looks like a credential is one. French names too (MOT_DE_PASSE, MDP).
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|TOTP|CREDENTIAL|PRIVATE|COOKIE|MOT_?DE_?PASSE"
    r"|(^|_)(API_?)?KEY(_|$)|(^|_)(PW|MDP|PIN)(_|$)",
    re.IGNORECASE,
)
# What a browser, a driver or a hook needs to run, never withheld, whatever a roster or a flow says.
ESSENTIAL = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "TMPDIR", "TERM", "LANG", "LANGUAGE", "TZ", "NO_COLOR",
    "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "PYTHONPATH", "PYTHONIOENCODING", "VIRTUAL_ENV",
})  # fmt: skip
_ESSENTIAL_PREFIXES = ("PLAYWRIGHT_", "LC_", "XDG_", "DEBUG")
SETTINGS_PREFIX = "CHORUS_ROBOT_"


class _Withheld:
    """The secret variables taken out of `os.environ`, and whether new ones are taken out at once (sealed)."""

    def __init__(self) -> None:
        self.names: set[str] = set()  # named by a roster, a flow, the code
        self.values: dict[str, str] = {}  # what lookups find: taken out of os.environ, or provided
        self.taken: dict[str, str] = {}  # what was in os.environ, given back when the seal ends
        self.sealed = False
        self.lock = threading.RLock()


_WITHHELD = _Withheld()


def is_secret_variable(name: str, value: str = "", secret_values: Iterable[str] | None = None) -> bool:
    """A variable no child may see: a secret-looking name, a name given as a secret, or a known secret value
    (`secret_values`: every value the redactor knows, by default)."""
    if name in ESSENTIAL or name.startswith(_ESSENTIAL_PREFIXES):
        return False
    if name in _WITHHELD.names or _SECRET_NAME.search(name):
        return True
    known = REDACTOR.values if secret_values is None else secret_values
    return bool(value) and value in known


class _Environ(Mapping[str, str]):
    """`os.environ` and the secrets withheld from it: where the robot looks a variable up."""

    def __getitem__(self, name: str) -> str:
        try:
            return os.environ[name]
        except KeyError:
            with _WITHHELD.lock:
                return _WITHHELD.values[name]

    def __iter__(self) -> Iterator[str]:
        with _WITHHELD.lock:
            withheld = list(_WITHHELD.values)
        return iter(dict.fromkeys([*os.environ, *withheld]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


ENVIRON: Mapping[str, str] = _Environ()


def withhold(names: Iterable[str]) -> None:
    """These variables are secrets (a roster's credentials, a flow's `secrets:`): no child will see them."""
    with _WITHHELD.lock:
        _WITHHELD.names.update(name for name in names if name)
    scrub()


def scrub() -> None:
    """Inside the seal: takes every secret variable out of `os.environ` (before a child process starts)."""
    with _WITHHELD.lock:
        if not _WITHHELD.sealed:
            return
        known = set(REDACTOR.values)
        for name, value in list(os.environ.items()):
            if is_secret_variable(name, value, known):
                _WITHHELD.taken.setdefault(name, value)
                _WITHHELD.values[name] = value
                del os.environ[name]


def provide(name: str, value: str) -> None:
    """Sets a variable the robot's own lookups see (ENVIRON); a secret one stays out of `os.environ` when sealed."""
    with _WITHHELD.lock:
        if _WITHHELD.sealed and is_secret_variable(name, value):
            REDACTOR.add(value)
            _WITHHELD.values[name] = value
            return
    os.environ[name] = value
    scrub()


@contextmanager
def sealed_environment() -> Iterator[None]:
    """A command's lifetime: secrets out of `os.environ` from now on; `os.environ` as it was afterwards."""
    with _WITHHELD.lock:
        _WITHHELD.sealed = True
    scrub()
    try:
        yield
    finally:
        with _WITHHELD.lock:
            for name, value in _WITHHELD.taken.items():
                os.environ.setdefault(name, value)
            _WITHHELD.values.clear()
            _WITHHELD.taken.clear()
            _WITHHELD.sealed = False


def load_env_file(path: Path) -> None:
    """`.env`: its variables join the environment (which wins), and all of them are secrets but the robot's own
    settings (CHORUS_ROBOT_*, whose secret ones match the pattern) and what every process needs (ESSENTIAL)."""
    if not path.is_file():
        return
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc, " (aucune de ses variables n'a été lue)") from None
    load_dotenv(stream=io.StringIO(text), override=False)
    withhold(name for name in dotenv_values(stream=io.StringIO(text)) if not name.startswith(SETTINGS_PREFIX))


def child_environment(base: Mapping[str, str] | None = None, hidden_values: Iterable[str] = ()) -> dict[str, str]:
    """The environment of a process the robot starts: `base` (os.environ) without any secret variable."""
    source = os.environ if base is None else base
    known = set(REDACTOR.values) | {value for value in hidden_values if value}
    return {name: value for name, value in source.items() if not is_secret_variable(name, value, known)}
