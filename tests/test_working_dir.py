"""A working directory over the package: `init` writes one; its selectors/ and flows/ replace the packaged screen or
flow of the same name, and what names a screen names the file it came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser

from robots.cli.init import init_directory
from robots.config import load_config
from robots.engine.runner import Runner
from robots.errors import StepFailed
from robots.language.catalogue import Catalogue, own_catalogue
from robots.language.files import secret_variables
from robots.language.layers import sub_flow
from robots.secrets import SecretProvider
from tests.conftest import PROJECT, Portal, robot

FLOW_LINE = "# yaml-language-server: $schema=../../schema/flow.schema.json\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "robot"
    init_directory(folder)  # `chorus-robot init` itself: test_init_never_overwrites, tests/test_installed.py
    return folder


def test_init_writes_a_working_directory_pointing_at_itself(workdir: Path):
    for name in ("robot.yaml", "roster.yaml", ".env.example", "crontab", "systemd/chorus-robot-renew.timer"):
        assert (workdir / name).is_file(), name
    config = yaml.safe_load((workdir / "robot.yaml").read_text(encoding="utf-8"))
    assert {"mock", "qualif", "production"} <= set(config["environments"])
    assert (workdir / "robot.yaml").read_text(encoding="utf-8").startswith("# Configuration de ce dossier")
    assert "remplace l'écran de même nom" in (workdir / "selectors" / "README.md").read_text(encoding="utf-8")
    assert "remplace" in (workdir / "flows" / "README.md").read_text(encoding="utf-8")
    assert not list((workdir / "selectors").glob("*.yaml")) and not list((workdir / "flows").rglob("*.yaml"))
    service = (workdir / "systemd" / "chorus-robot-renew.service").read_text(encoding="utf-8")
    assert f"WorkingDirectory={workdir}\n" in service
    assert f"--roster {workdir / 'roster.yaml'}" in service
    assert f"cd {workdir} && " in (workdir / "crontab").read_text(encoding="utf-8")


def test_env_example_names_every_variable_of_the_roster_and_the_flows(workdir: Path):
    named = {
        line.split("=", 1)[0]
        for line in (workdir / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    roster = yaml.safe_load((workdir / "roster.yaml").read_text(encoding="utf-8"))
    for account in roster["accounts"]:
        assert {account["login_env"], account["password_env"]} <= named
    flows = {name for path in (PROJECT / "flows").rglob("*.yaml") for name in secret_variables(path)}
    assert flows and flows <= named, flows - named


def test_init_never_overwrites(workdir: Path):
    (workdir / "roster.yaml").write_text("mon registre\n", encoding="utf-8")
    done = robot("init", str(workdir))
    assert done.returncode == 2
    assert "contient déjà robot.yaml, roster.yaml" in done.stderr and "rien n'a été écrit" in done.stderr
    assert (workdir / "roster.yaml").read_text(encoding="utf-8") == "mon registre\n"


def test_a_screen_file_of_the_directory_replaces_the_packaged_one(workdir: Path):
    screen = workdir / "selectors" / "chorus_connecte.yaml"
    text = (PROJECT / "selectors" / "chorus_connecte.yaml").read_text(encoding="utf-8")
    screen.write_text(text.replace("  mon_compte:", "  mon_compte_renomme:"), encoding="utf-8")

    listed = robot("screens", cwd=workdir)
    checked = robot("validate", cwd=workdir)

    assert "[surcharge : selectors/chorus_connecte.yaml]" in listed.stdout
    assert "surcharge : écran « chorus_connecte » ← selectors/chorus_connecte.yaml" in checked.stdout
    # The packaged flows are checked against the override, and the message names the override's file.
    assert checked.returncode == 2
    assert "élément inconnu « mon_compte » sur l'écran « chorus_connecte » (selectors/chorus_connecte.yaml)" in (
        checked.stdout
    )


def test_a_broken_override_is_reported_at_its_own_path_not_replaced_by_the_package(workdir: Path):
    (workdir / "selectors" / "services").mkdir()
    (workdir / "selectors" / "services" / "dgfip_applications.yaml").write_text("screen: [\n", encoding="utf-8")
    done = robot("validate", cwd=workdir)
    assert done.returncode == 2
    assert "selectors/services/dgfip_applications.yaml:" in done.stdout
    assert "écran inconnu « dgfip_applications »" in done.stdout, "the packaged screen is not used instead"


def test_a_flow_of_the_directory_replaces_the_packaged_one_in_sub_flow_calls(workdir: Path):
    own = workdir / "flows" / "common" / "login_dgfip.yaml"
    own.parent.mkdir()
    shipped = (PROJECT / "flows" / "common" / "login_dgfip.yaml").read_text(encoding="utf-8")
    own.write_text(shipped.replace("expect_screen: dgfip_authentification", "expect_screen: dgfip_autre"), "utf-8")

    done = robot("validate", cwd=workdir)

    assert "surcharge : flow common/login_dgfip.yaml ← flows/common/login_dgfip.yaml" in done.stdout
    # reset_technical_password → common/login.yaml (packaged) → login_dgfip.yaml: the directory's.
    assert "flows/common/login_dgfip.yaml:" in done.stdout and "écran inconnu « dgfip_autre »" in done.stdout
    assert done.returncode == 2


def test_an_own_flow_calls_the_packaged_sub_flows_it_does_not_replace(workdir: Path, monkeypatch: pytest.MonkeyPatch):
    own = workdir / "flows" / "common" / "login.yaml"
    own.parent.mkdir()
    shutil.copy(PROJECT / "flows" / "common" / "login.yaml", own)
    monkeypatch.chdir(workdir)

    assert sub_flow(own, "login_dgfip.yaml") == (PROJECT / "flows" / "common" / "login_dgfip.yaml").resolve()
    assert sub_flow(PROJECT / "flows" / "reset_technical_password.yaml", "common/login.yaml") == own.resolve()
    assert own.read_text(encoding="utf-8").startswith(FLOW_LINE)  # its first line names init's copy of the schema
    assert robot("validate", str(own), cwd=workdir).returncode == 0


def test_the_directory_selectors_count_without_a_configuration_and_config_names_another(tmp_path: Path):
    (tmp_path / "selectors").mkdir()
    shutil.copy(PROJECT / "selectors" / "mon_compte.yaml", tmp_path / "selectors")
    assert not (tmp_path / "robot.yaml").exists()

    assert "[surcharge : selectors/mon_compte.yaml]" in robot("screens", cwd=tmp_path).stdout
    other = robot("--config", "ailleurs.yaml", "screens", cwd=tmp_path)
    assert other.returncode == 2 and "ailleurs.yaml" in other.stderr
    elsewhere = tmp_path / "ecrans"
    elsewhere.mkdir()
    shutil.copy(PROJECT / "selectors" / "chorus_accueil.yaml", elsewhere)
    config = yaml.safe_load((PROJECT / "config" / "robot.yaml").read_text(encoding="utf-8"))
    config["settings"]["catalogue"] = str(elsewhere)
    (tmp_path / "ailleurs.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    named = robot("--config", "ailleurs.yaml", "screens", cwd=tmp_path).stdout
    assert "[surcharge : ecrans/chorus_accueil.yaml]" in named and "selectors/mon_compte.yaml" not in named


RUNTIME_FLOW = """
name: identifiant
steps:
  - goto: ${env.dgfip_url}
  - fill: {element: dgfip_authentification.identifiant, value: "x"}
"""


class _NoSink:
    def store(self, key: str, fields: dict) -> None:
        return None

    def checkpoint(self, key: str, event: str) -> None:
        return None


def test_a_step_failing_on_an_overridden_screen_names_the_override(
    browser: Browser, portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "selectors").mkdir()
    shipped = (PROJECT / "selectors" / "dgfip_authentification.yaml").read_text(encoding="utf-8")
    broken = shipped.replace("{label: Identifiant}", "{label: Identifiant du portail réel}").replace(
        "input[name='identifiant']", "input[name='login']"
    )
    (tmp_path / "selectors" / "dgfip_authentification.yaml").write_text(broken, encoding="utf-8")
    (tmp_path / "flow.yaml").write_text(RUNTIME_FLOW, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    catalogue = Catalogue.load(own_catalogue(load_config()))
    context = browser.new_context()
    runner = Runner(context.new_page(), catalogue, secrets=SecretProvider({}), sink=_NoSink(), timeout_s=2)

    with pytest.raises(StepFailed) as failed:
        runner.run(tmp_path / "flow.yaml", {"env": {"dgfip_url": portal.url + "/portail/"}})
    context.close()

    assert "introuvable sur l'écran « Authentification » (selectors/dgfip_authentification.yaml)" in str(failed.value)
    assert "Identifiant du portail réel" in str(failed.value)
