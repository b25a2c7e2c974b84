"""The check every connector makes with the technical account: the Chorus Pro API's `tauxtva`, through PISTE.

The real API sits behind the PISTE gateway: an OAuth2 client-credentials token (PISTE_CLIENT_ID /
PISTE_CLIENT_SECRET, token URL per environment) goes in `Authorization: Bearer`, the technical account in
`cpro-account: base64(login:password)`. The outcome follows from what was sent:
- accepted: HTTP 200, codeRetour 0;
- refused: HTTP 401 or 403 to a call made with a token just obtained: the gateway let the call through, so the
  technical account was refused (a wrong or not yet propagated password, or an account without the right).
  A 401/403 to a call made with a token kept from earlier is tried once more with a new token: the gateway may
  have dropped the old one;
- bad_request: HTTP 400 (`codeRetour`, `libelle`): the robot's own request is wrong, the password is not in
  question;
- impossible: no client credentials, no token (refused or unreachable), a 5xx, any other answer, the network.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robots.errors import TokenUnavailable
from robots.secrets import ENVIRON, REDACTOR

TAUX_TVA_PATH = "/cpro/transverses/v1/recuperer/tauxtva"
CLIENT_ID_ENV, CLIENT_SECRET_ENV = "PISTE_CLIENT_ID", "PISTE_CLIENT_SECRET"
ACCEPTED, REFUSED, BAD_REQUEST, IMPOSSIBLE = "accepted", "refused", "bad_request", "impossible"
CHECK_BODY = json.dumps({"codeLangue": "FR"}).encode()
JSON_UTF8 = "application/json;charset=utf-8"


@dataclass(frozen=True)
class CheckResult:
    outcome: str  # accepted | refused | bad_request | impossible
    detail: str = ""

    @property
    def accepted(self) -> bool | None:
        """True, False (refused by the API) or None (not checked: impossible, or our request was wrong)."""
        return {ACCEPTED: True, REFUSED: False}.get(self.outcome)


class PisteClient:
    """Gets and keeps a PISTE token (client credentials) until shortly before it expires; thread-safe."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, timeout_s: float = 30) -> None:
        self.token_url, self.client_id, self._secret, self.timeout_s = token_url, client_id, client_secret, timeout_s
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        REDACTOR.add(client_secret)

    @classmethod
    def from_env(cls, token_url: str, environ: Mapping[str, str] | None = None) -> PisteClient | None:
        environ = ENVIRON if environ is None else environ
        client_id, secret = environ.get(CLIENT_ID_ENV, ""), environ.get(CLIENT_SECRET_ENV, "")
        return cls(token_url, client_id, secret) if client_id and secret and token_url else None

    def token(self) -> str:
        return self.token_and_freshness()[0]

    def token_and_freshness(self) -> tuple[str, bool]:
        """The token, and True when this call obtained it (a kept one may have been dropped by the gateway)."""
        with self._lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0], False
            self._token = self._fetch()
            return self._token[0], True

    def renew(self, stale: str) -> str:
        """A token other than `stale` (another thread may have renewed it already)."""
        with self._lock:
            if self._token and self._token[0] == stale:
                self._token = None
        return self.token()

    def _fetch(self) -> tuple[str, float]:
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
        token = str(answer.get("access_token") or "") if isinstance(answer, dict) else ""
        if not token:
            raise TokenUnavailable(f"réponse sans access_token de {self.token_url}")
        REDACTOR.add(token)
        lifetime = float(answer.get("expires_in") or 300)
        return token, time.monotonic() + max(0.0, lifetime - 60)


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def check_technical_account(
    api_url: str, login: str, password: str, piste: PisteClient | None, timeout_s: float = 30
) -> CheckResult:
    """The `tauxtva` call with both headers, classified from what was sent; never raises."""
    if piste is None:
        return CheckResult(IMPOSSIBLE, f"pas d'identifiants client PISTE ({CLIENT_ID_ENV}, {CLIENT_SECRET_ENV})")
    header = account_header(login, password)
    try:
        token, fresh = piste.token_and_freshness()
        status, body = _call(api_url, {"Authorization": f"Bearer {token}", "cpro-account": header}, timeout_s)
        if status in (401, 403) and not fresh:  # the gateway may have dropped a kept token: once more, new token
            token = piste.renew(token)
            status, body = _call(api_url, {"Authorization": f"Bearer {token}", "cpro-account": header}, timeout_s)
    except TokenUnavailable as exc:
        return CheckResult(IMPOSSIBLE, REDACTOR.redact(str(exc)))
    except TimeoutError:
        return CheckResult(IMPOSSIBLE, f"API muette : pas de réponse en {timeout_s:g} s")
    except (OSError, ValueError) as exc:
        return CheckResult(IMPOSSIBLE, f"API injoignable : {REDACTOR.redact(str(exc))}")
    return _answer(status, body)


def _call(api_url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    """POST `tauxtva`: the HTTP status and body, whatever the status; raises OSError on the network."""
    request = urllib.request.Request(
        api_url.rstrip("/") + TAUX_TVA_PATH, data=CHECK_BODY, method="POST",
        headers={**headers, "Content-Type": JSON_UTF8, "Accept": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _answer(status: int, body: bytes) -> CheckResult:
    """The outcome of an answer to a call made with a token just obtained (or renewed)."""
    try:
        answer: Any = json.loads(body or b"null")
    except ValueError:
        answer = None
    said = answer if isinstance(answer, dict) else {}
    api_said = REDACTOR.redact(f"codeRetour {said.get('codeRetour')} : {said.get('libelle', '')}".rstrip(" :"))
    if status == 200 and said.get("codeRetour") == 0:
        return CheckResult(ACCEPTED)
    if status in (401, 403):
        why = "compte technique inconnu ou mot de passe refusé" if status == 401 else "compte technique sans droit"
        return CheckResult(REFUSED, f"HTTP {status} avec un jeton PISTE valide : {why}")
    if status == 400:
        return CheckResult(BAD_REQUEST, f"HTTP 400, {api_said}")
    if status >= 500:
        return CheckResult(IMPOSSIBLE, f"API en erreur (HTTP {status})")
    return CheckResult(IMPOSSIBLE, f"réponse inattendue de l'API (HTTP {status}" + (f", {api_said})" if said else ")"))


def technical_account_works(api_url: str, login: str, password: str, timeout_s: float = 30) -> bool:
    """Without the gateway (the mock without --piste): True when the API accepts the account; False on refusal."""
    status, body = _call(api_url, {"cpro-account": account_header(login, password)}, timeout_s)
    if status in (401, 403):
        return False
    if status != 200:
        raise OSError(f"vérification API : HTTP {status}")
    return json.loads(body or b"{}").get("codeRetour") == 0
