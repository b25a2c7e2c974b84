"""The check every connector makes with the technical account: the Chorus Pro API's `tauxtva`."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

TAUX_TVA_PATH = "/cpro/transverses/v1/recuperer/tauxtva"


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def technical_account_works(api_url: str, login: str, password: str, timeout_s: float = 30) -> bool:
    """True when the API accepts the account (HTTP 200, codeRetour 0); False on a 401 refusal."""
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
