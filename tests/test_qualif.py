"""Issue 8 point 9: `qualif` reaches the qualification portal only; no DGFiP entry there."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from robots.config import load_config
from tests.conftest import PROJECT, robot

PRODUCTION_HOSTS = {"portail.dgfip.finances.gouv.fr", "api.piste.gouv.fr", "oauth.piste.gouv.fr"}


def test_qualif_urls_are_the_qualification_portals():
    qualif = load_config().environment("qualif")
    urls = [qualif.chorus_url, qualif.api_url, qualif.piste_token_url]
    assert qualif.dgfip_url is None
    assert not {urlsplit(u).hostname for u in urls} & PRODUCTION_HOSTS
    assert "/qualif" in qualif.chorus_url
    assert all("sandbox" in urlsplit(u).hostname for u in (qualif.api_url, qualif.piste_token_url))


def test_the_dgfip_entry_is_refused_for_qualif_with_the_reason():
    result = robot(
        "run", str(PROJECT / "flows" / "reset_technical_password.yaml"), "--env", "qualif",
        "--var", "structure=21300011900015", "--var", "entry=dgfip",
    )  # fmt: skip
    assert result.returncode == 2
    assert "l'entrée par la DGFiP est refusée" in result.stderr and "Chorus Pro de production" in result.stderr


def test_a_roster_with_a_dgfip_account_is_refused_for_qualif(tmp_path: Path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - {name: a, portal: dgfip, login_env: A_LOGIN, password_env: A_PASSWORD,\n"
        '     structures: [{identifiant: "21300011900015"}]}\n'
    )
    result = robot("renew", "--env", "qualif", "--roster", str(roster), "--log-file", "-",
                   "--journal", str(tmp_path / "j.sqlite"), env={"A_LOGIN": "a", "A_PASSWORD": "b"})  # fmt: skip
    assert result.returncode == 2 and "l'entrée par la DGFiP est refusée" in result.stderr
