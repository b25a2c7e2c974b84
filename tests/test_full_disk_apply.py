"""Issue 17: `apply` whose report cannot be written (its disk full) says what it changed on the portal, then
« stockage en échec », exit 1 — never « erreur interne ». `apply` generates no password: the report is all it
writes. The disk is the tmpfs of tests/test_full_disk.py; the portal and desired state are test_parametrage's."""

from __future__ import annotations

from pathlib import Path

from robots.store.crash_points import break_disk
from tests.conftest import Portal
from tests.test_full_disk import disk  # noqa: F401 - fixture
from tests.test_parametrage import VILLENEUVE, cli, param_server, portal, write_desired  # noqa: F401 - fixtures


def test_apply_with_its_report_on_a_full_disk_says_what_it_did_then_the_storage_failure(
    portal: Portal, disk: Path  # noqa: F811 - fixtures
):  # fmt: skip
    desired = write_desired(disk.parent, "account: {name: syndicat, portal: dgfip, login_env: PARAM_LOGIN, "
                            f"password_env: PARAM_PASSWORD}}\nstructures:\n  - {{identifiant: \"{VILLENEUVE}\", "
                            "libelle: Commune de Villeneuve, email: finances@villeneuve.example}\n")  # fmt: skip
    break_disk(f"full:{disk}")

    done = cli("apply", str(desired), "--report", str(disk / "apply.json"), portal=portal)

    assert done.returncode == 1, done.stderr
    assert f"{VILLENEUVE} : changed" in done.stdout, "what was done is said first"
    assert "stockage en échec : rapport" in done.stderr and "No space left on device" in done.stderr
    assert "erreur interne" not in done.stderr
    assert {s["identifiant"]: s for s in portal.state()["structures"]}[VILLENEUVE]["libelle"] == "Commune de Villeneuve"
