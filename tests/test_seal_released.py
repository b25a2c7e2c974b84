"""Issue 17 point 6: a reset proven not to have happened releases its seal, and a seal never holds an empty page.

The mock cuts the « Confirmer » POST before the portal acts on it (fault `drop`: as if the portal were killed and
restarted while it was clicked): the browser shows its own error page, empty of any password. Nothing is sealed;
the structure, read again, shows its expiry unchanged, so the reset never happened: it is reset as usual.
A page sealed by an earlier run after a request that never landed (the expiry unchanged) is released the same way;
one whose expiry changed stays sealed for a person.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from robots.jobs.renewal.nightly import Outputs, run_renewal
from robots.jobs.renewal.plan import RenewOptions
from robots.jobs.renewal.report import RunReport
from robots.store.journal import Journal
from tests.conftest import Portal
from tests.test_renew import piste_client

STRUCTURE = "25300096600023"  # the syndicate's first structure, due in 12 days
CLEAN = ["Seal6Clean1x", "Seal6Clean2y"]


@pytest.fixture
def night(
    browser: Browser,
    portal: Portal,
    syndicate: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    impatient: float,
):  # noqa: ANN201 - a function: one night of `renew`
    monkeypatch.setenv("SYNDICAT_LOGIN", syndicate["login"])
    monkeypatch.setenv("SYNDICAT_PASSWORD", syndicate["password"])
    for name, value in piste_client().items():
        monkeypatch.setenv(name, value)
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "accounts:\n  - name: siagep\n    portal: dgfip\n    login_env: SYNDICAT_LOGIN\n"
        f'    password_env: SYNDICAT_PASSWORD\n    structures:\n      - identifiant: "{STRUCTURE}"\n',
        encoding="utf-8",
    )
    portal.next_passwords(CLEAN)

    def one_night(within_days: int = 30, dry_run: bool = False) -> RunReport:
        options = RenewOptions(
            roster_path=roster, portal_url=portal.url, vault_path=tmp_path / "vault.json", within_days=within_days,
            dry_run=dry_run, failures_dir=tmp_path / "failures",
        )  # fmt: skip
        return run_renewal(options, Outputs(journal=tmp_path / "journal.sqlite", log_file=None), browser)

    return one_night


def vault_password(tmp_path: Path) -> str:
    return json.loads((tmp_path / "vault.json").read_text(encoding="utf-8"))[STRUCTURE]["password"]


def seals(tmp_path: Path) -> list[dict]:
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        return journal.db.execute("SELECT * FROM sealed").fetchall()
    finally:
        journal.close()


def test_confirmer_cut_before_the_portal_acts_seals_nothing_and_the_structure_is_reset(
    portal: Portal, tmp_path: Path, night
):
    cut = {"drop": {"path_prefix": f"/cpp/structure/{STRUCTURE}/reinitialiser", "method": "POST"}, "count": 1}
    portal.call("POST", "/__mock__/faults", cut)

    first = night()

    assert seals(tmp_path) == [], "an empty page (the browser's error page) is never sealed"
    assert first.outcomes[0].action == "renewed", first.outcomes[0].error
    assert portal.structure(STRUCTURE)["reset_count"] == 1, "the cut request never reset it; the retry did, once"
    assert vault_password(tmp_path) == portal.structure(STRUCTURE)["technical_user"]["password"] == CLEAN[0]

    second = night(within_days=1000)  # due again: nothing left blocking it

    assert second.outcomes[0].action == "renewed", second.outcomes[0].error
    assert portal.structure(STRUCTURE)["reset_count"] == 2
    assert vault_password(tmp_path) == CLEAN[1]


def sealed_after_a_request(tmp_path: Path, night) -> None:  # noqa: ANN001
    """What an earlier run left: the expiry read, « Confirmer » about to be clicked, the page seen sealed."""
    read = night(dry_run=True)
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        run_id = journal.runs(1)[0]["id"]
        journal.event(run_id, "siagep", STRUCTURE, "reset_requested")
        journal.seal(run_id, "siagep", STRUCTURE, "Service momentanément indisponible. Réessayez plus tard.")
    finally:
        journal.close()
    assert read.outcomes[0].action == "dry-run"


def test_a_seal_after_a_reset_that_never_happened_is_released_and_the_structure_reset_as_usual(
    portal: Portal, tmp_path: Path, night
):
    sealed_after_a_request(tmp_path, night)

    report = night()

    assert report.outcomes[0].action == "renewed", report.outcomes[0].error
    assert [dict(s)["released_at"] is not None for s in seals(tmp_path)] == [True]
    assert portal.structure(STRUCTURE)["reset_count"] == 1
    assert vault_password(tmp_path) == portal.structure(STRUCTURE)["technical_user"]["password"] == CLEAN[0]


def test_a_seal_stays_when_the_expiry_changed_since_the_request(portal: Portal, tmp_path: Path, night):
    sealed_after_a_request(tmp_path, night)
    portal.call("POST", "/__mock__/structure", {"identifiant": STRUCTURE, "expires_at": "+200d"})  # it happened

    report = night()

    assert report.outcomes[0].action == "failed"
    assert "pas de nouvelle réinitialisation" in (report.outcomes[0].error or "")
    assert [dict(s)["released_at"] for s in seals(tmp_path)] == [None]
    assert portal.structure(STRUCTURE)["reset_count"] == 0
