"""The check every connector makes with the technical account: the Chorus Pro API's `tauxtva`, through PISTE.

The real API sits behind the PISTE gateway: an OAuth2 client-credentials token (PISTE_CLIENT_ID /
PISTE_CLIENT_SECRET, token URL per environment) goes in `Authorization: Bearer`, the technical account in
`cpro-account: base64(login:password)`. Three outcomes:
- accepted: HTTP 200, codeRetour 0;
- refused: the API itself answered and refused the account (a JSON answer with a non-zero codeRetour);
- impossible: no client credentials, the token refused, a bare gateway 401/403, the network.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robots.secrets import REDACTOR

TAUX_TVA_PATH = "/cpro/transverses/v1/recuperer/tauxtva"
CLIENT_ID_ENV, CLIENT_SECRET_ENV = "PISTE_CLIENT_ID", "PISTE_CLIENT_SECRET"
ACCEPTED, REFUSED, IMPOSSIBLE = "accepted", "refused", "impossible"


@dataclass(frozen=True)
class CheckResult:
    outcome: str  # accepted | refused | impossible
    detail: str = ""

    @property
    def accepted(self) -> bool | None:
        """True, False (refused by the API) or None (could not be checked)."""
        return {ACCEPTED: True, REFUSED: False}.get(self.outcome)


class TokenUnavailable(Exception):
    pass


class PisteClient:
    """Gets and keeps a PISTE token (client credentials) until shortly before it expires; thread-safe."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, timeout_s: float = 30) -> None:
        self.token_url, self.client_id, self._secret, self.timeout_s = token_url, client_id, client_secret, timeout_s
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        REDACTOR.add(client_secret)

    @classmethod
    def from_env(cls, token_url: str, environ: Mapping[str, str] | None = None) -> PisteClient | None:
        environ = os.environ if environ is None else environ
        client_id, secret = environ.get(CLIENT_ID_ENV, ""), environ.get(CLIENT_SECRET_ENV, "")
        return cls(token_url, client_id, secret) if client_id and secret and token_url else None

    def token(self) -> str:
        with self._lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            body = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._secret,
                    "scope": "openid",
                }  # fmt: skip
            ).encode()
            request = urllib.request.Request(self.token_url, data=body, method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                raise TokenUnavailable(f"jeton PISTE refusé (HTTP {error.code}) par {self.token_url}") from None
            except (OSError, ValueError) as exc:
                raise TokenUnavailable(f"jeton PISTE impossible à obtenir de {self.token_url} : {exc}") from None
            token = str(answer.get("access_token") or "")
            if not token:
                raise TokenUnavailable(f"réponse sans access_token de {self.token_url}")
            REDACTOR.add(token)
            lifetime = float(answer.get("expires_in") or 300)
            self._token = (token, time.monotonic() + max(0.0, lifetime - 60))
            return token


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def check_technical_account(
    api_url: str, login: str, password: str, piste: PisteClient | None, timeout_s: float = 30
) -> CheckResult:
    """The `tauxtva` call with both headers; never raises."""
    if piste is None:
        return CheckResult(IMPOSSIBLE, f"pas d'identifiants client PISTE ({CLIENT_ID_ENV}, {CLIENT_SECRET_ENV})")
    try:
        token = piste.token()
    except TokenUnavailable as exc:
        return CheckResult(IMPOSSIBLE, REDACTOR.redact(str(exc)))
    request = urllib.request.Request(
        api_url.rstrip("/") + TAUX_TVA_PATH, data=b"{}", method="POST",
        headers={"Authorization": f"Bearer {token}", "cpro-account": account_header(login, password),
                 "Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return _answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, error.read())
    except (OSError, ValueError) as exc:
        return CheckResult(IMPOSSIBLE, f"API injoignable : {REDACTOR.redact(str(exc))}")


def _answer(status: int, body: bytes) -> CheckResult:
    try:
        answer: Any = json.loads(body or b"null")
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "codeRetour" not in answer:
        # The gateway's own rejection: the API never saw the technical account.
        return CheckResult(IMPOSSIBLE, f"rejet de la passerelle PISTE (HTTP {status})")
    if status == 200 and answer.get("codeRetour") == 0:
        return CheckResult(ACCEPTED)
    return CheckResult(REFUSED, f"HTTP {status}, codeRetour {answer.get('codeRetour')} : {answer.get('libelle', '')}")


def technical_account_works(api_url: str, login: str, password: str, timeout_s: float = 30) -> bool:
    """Without the gateway (the mock without --piste): True when the API accepts the account; False on refusal."""
    request = urllib.request.Request(
        api_url.rstrip("/") + TAUX_TVA_PATH,
        data=b"{}",
        method="POST",
        headers={"cpro-account": account_header(login, password), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read() or b"{}").get("codeRetour") == 0
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return False
        raise
