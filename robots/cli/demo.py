"""`make demo`: the main job on the embedded mock portal, start to finish, no password printed."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from robots.browser.portal_context import BrowserOptions
from robots.cli import options
from robots.config import packaged, working_dir
from robots.errors import EXIT_OK
from robots.integrations.api_check import technical_account_works
from robots.jobs.run import RunRequest, run, summary
from robots.secrets import provide

DEMO_DATA = packaged("fixtures", "demo-portal.yaml")
DEMO_VAR = Path("var") / "demo"  # in the working directory
FLOW = packaged("flows", "reset_technical_password.yaml")


def _syndicate_and_its_last_structure(data: dict) -> tuple[dict, str]:
    """The DGFiP account managing the most structures, and its last one (a later page of the table)."""
    managed: dict[str, list[str]] = {}
    for structure in data["structures"]:
        managed.setdefault(structure["manager"], []).append(str(structure["identifiant"]))
    accounts = [a for a in data["accounts"] if a["portal"] == "dgfip" and a["login"] in managed]
    account = max(accounts, key=lambda a: len(managed[a["login"]]))
    return account, managed[account["login"]][-1]


GENERATION_NAMES = {"services": "portail de services", "legacy": "Chorus Pro des guides, 2016–2020"}


def demo(headed: bool = False, generation: str = "services") -> int:
    from fixtures.mock_portal import MockPortalServer

    data = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    account, structure = _syndicate_and_its_last_structure(data)
    # The demo account's credentials are part of the demo data, like a training login.
    provide("DGFIP_LOGIN", account["login"])
    provide("DGFIP_PASSWORD", account["password"])
    with MockPortalServer(DEMO_DATA, generation=generation) as portal:
        print(
            f"Portail de démonstration ({GENERATION_NAMES[generation]}) : {portal.url} — compte {account['login']}, "
            f"structure {structure}"
        )
        request = RunRequest(
            flow=FLOW, env_name="mock", portal_url=portal.url, variables={"structure": structure},
            vault_path=working_dir() / DEMO_VAR / "technical-accounts.json",
            journal_path=working_dir() / DEMO_VAR / "journal.sqlite", browser=BrowserOptions(headed=headed),
        )  # fmt: skip
        prepared, result = run(request)
        print("\n".join(summary(result, prepared.vault)))
        entry = prepared.vault.get(structure) or {}
        works = technical_account_works(portal.url, entry["login"], entry["password"])
        print(f"Vérification API (tauxtva) avec le nouveau mot de passe : {'acceptée' if works else 'REFUSÉE'}")
    return EXIT_OK if works else 1


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="réinitialiser un mot de passe technique sur le portail simulé embarqué")
    options.add_browser(parser)
    options.add_generation(parser)
    parser.set_defaults(handler=lambda args: demo(headed=args.headed, generation=args.generation))
