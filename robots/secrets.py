"""Secrets: resolved by name from the environment or `.env`, and scrubbed from everything written.

Every secret value the run resolves or captures is registered with the process-wide `REDACTOR`;
logs, reports and recordings pass through it before they reach a file or a terminal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from robots.errors import BadInput

MASK = "«secret»"
_SHORTEST_SECRET = 4  # below this a value would mask ordinary words


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        if value and len(value) >= _SHORTEST_SECRET:
            with self._lock:
                self._values.add(value)

    @property
    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.values:
            # URL-encoded too: a form's body or a URL's query string in an error message.
            for form in dict.fromkeys((value, quote(value, safe=""), quote_plus(value))):
                if form in text:
                    text = text.replace(form, MASK)
        return text

    def redact_data(self, data: object) -> object:
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Mapping):
            return {k: self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.redact_data(v) for v in data]
        return data


REDACTOR = Redactor()


class SecretProvider:
    """Looks secrets up by the name a flow gives them; `env_names` maps a name to its variable."""

    def __init__(
        self, env_names: Mapping[str, str], environ: Mapping[str, str] | None = None,
        sources: Mapping[str, Callable[[], str]] | None = None,
    ) -> None:  # fmt: skip
        self.env_names = dict(env_names)
        self._environ = environ if environ is not None else os.environ
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
