"""Issue 17: `accounts create` with the vault's disk full once an account is created on the portal: « stockage en
échec », the row says where the account's password is, and the next run takes the line up from there (the disk
freed). The disk is the tmpfs of tests/test_full_disk.py; the account flows are tests/test_accounts.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from robots.jobs.accounts.onboarding import _safely
from robots.store.crash_points import break_disk
from robots.store.vault import Vault
from tests.conftest import Portal
from tests.test_accounts import BRANCHES, flows, mail_dir, row, user  # noqa: F401 - fixtures and helpers
from tests.test_full_disk import disk  # noqa: F401 - fixture


@pytest.fixture
def portal(mock_server: str, mail_dir: Path) -> Portal:  # noqa: F811 - the account flows' mails in mail_dir
    portal = Portal(mock_server)
    portal.reset()
    portal.call("POST", "/__mock__/accounts", {"maildir": str(mail_dir)})
    return portal


class FillAfter:
    """The account flows, the disk filled once the flow `after` has run on the portal."""

    def __init__(self, account_flows, folder: Path, after: str) -> None:  # noqa: ANN001
        self.flows, self.disk, self.after = account_flows, folder, after

    def run(self, flow: str, variables: dict[str, str], secret_values: dict[str, str] | None = None) -> dict:
        done = self.flows.run(flow, variables, secret_values)
        if flow == self.after:
            break_disk(f"full:{self.disk}")
        return done


def test_accounts_create_with_the_vault_disk_full_after_the_creation_says_where_the_password_is(
    flows, portal: Portal, disk: Path  # noqa: ANN001, F811 - fixtures
):  # fmt: skip
    vault, email = Vault(disk / "users.json"), "plein@ex.fr"
    values = BRANCHES["siret, new structure"]

    outcome = _safely(FillAfter(flows, disk, "create_account.yaml"), vault, row(email, **values), Path("c.csv"))

    assert outcome.outcome == "failed"
    assert outcome.reason.startswith("stockage en échec : ") and "No space left on device" in outcome.reason
    assert f"son mot de passe est dans le coffre {vault.path} (étape « generated »)" in outcome.reason
    assert user(portal, email), "created on the portal before the disk filled"
    for filler in disk.glob("filler-*"):  # the operator frees the disk; the next run takes the line up again
        filler.unlink()

    again = _safely(flows, vault, row(email, **values), Path("c.csv"))

    assert again.outcome != "failed", again.reason
    assert portal.account(email)["password"] == vault.get(email)["password"], "the password kept is the account's"
