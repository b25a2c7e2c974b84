"""Issue 13, point 5: the conventions of a command line — version, help with defaults and exit codes,
completion, an unknown --var refused, clear messages and exit 2 instead of « erreur interne »."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from robots.store.vault import Vault
from tests.conftest import PROJECT, ROBOT, robot

FLOW = "flows/reset_technical_password.yaml"


def test_version_and_help_with_defaults_and_exit_codes():
    version = robot("--version")
    assert version.returncode == 0 and version.stdout.startswith("chorus-robot ")
    renew = robot("renew", "--help")
    assert renew.returncode == 0
    text = " ".join(renew.stdout.split())
    assert "Codes de sortie" in text and "4 une autre exécution tient le verrou" in text
    assert "(défaut : mock)" in text


def test_quiet_and_verbose_after_the_subcommand():
    assert robot("screens", "--quiet").returncode == 0
    assert robot("validate", "-v", "flows").returncode == 0


def test_shell_completion_offers_the_subcommands(tmp_path: Path):
    out = tmp_path / "completions.txt"
    done = robot(env={"_ARGCOMPLETE": "1", "COMP_LINE": "chorus-robot ren", "COMP_POINT": "16",
                      "_ARGCOMPLETE_STDOUT_FILENAME": str(out)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text().split() == ["renew"]


def test_an_unknown_var_is_refused():
    done = robot("run", FLOW, "--var", "structur=21300258600013")
    assert done.returncode == 2
    assert "--var structur : entrée inconnue" in done.stderr and "structure" in done.stderr


def test_clear_messages_and_exit_2_instead_of_internal_errors(tmp_path: Path):
    missing = robot("mock-portal", "--data", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 2 and "fichier introuvable" in missing.stderr
    headless = robot("demo", "--headed", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert headless.returncode == 2 and "pas d'écran" in headless.stderr
    for done in (missing, headless):
        assert "erreur interne" not in done.stderr and "Traceback" not in done.stderr


def test_a_reader_going_away_stops_the_output_quietly():
    process = subprocess.Popen([*ROBOT, "screens"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PROJECT)
    process.stdout.read(10)  # type: ignore[union-attr]
    process.stdout.close()  # type: ignore[union-attr]
    errors = process.stderr.read().decode()  # type: ignore[union-attr]
    assert process.wait(timeout=60) in (0, 141)
    assert errors == ""


def test_vault_show_prints_one_entry_the_password_on_request(tmp_path: Path):
    vault = tmp_path / "vault.json"
    Vault(vault).put("21300258600013", login="TECH_1@cpp", password="Clean123abc", expires_at="2027-02-22T10:00:00")
    shown = robot("vault", "show", "21300258600013", "--vault", str(vault))
    assert shown.returncode == 0, shown.stderr
    assert "TECH_1@cpp" in shown.stdout and "22/02/2027 10:00" in shown.stdout
    assert "Clean123abc" not in shown.stdout + shown.stderr
    revealed = robot("vault", "show", "21300258600013", "--vault", str(vault), "--password")
    assert revealed.stdout.splitlines()[-1].endswith("Clean123abc")
    unknown = robot("vault", "show", "99999999999999", "--vault", str(vault))
    assert unknown.returncode == 2 and "aucune entrée pour la structure 99999999999999" in unknown.stderr
    nowhere = tmp_path / "none" / "vault.json"
    absent = robot("vault", "show", "21300258600013", "--vault", str(nowhere))
    assert absent.returncode == 2 and not nowhere.parent.exists()


def test_probe_opens_the_screens_url_when_no_path_is_given(mock_server: str):
    started = time.monotonic()
    done = robot(
        "probe", "dgfip_authentification", "--portal-url", mock_server,
        "--ignore", "erreur", "--ignore", "compte_bloque",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/portail/" in done.stdout
    assert time.monotonic() - started < 60


def test_the_demo_resets_a_password_on_today_s_portal_by_default_and_on_the_seeds_one_on_demand():
    today = robot("demo")
    assert today.returncode == 0, today.stderr
    assert "Portail de démonstration (portail de services)" in today.stdout
    assert "Mot de passe rangé dans le coffre" in today.stdout and "nouveau mot de passe : acceptée" in today.stdout
    seeds = robot("demo", "--generation", "legacy")
    assert seeds.returncode == 0, seeds.stderr
    assert "Portail de démonstration (Chorus Pro des guides, 2016–2020)" in seeds.stdout


def test_a_missing_portal_secret_is_said_before_any_browser_or_journal(tmp_path: Path):
    """The DGFiP entry (the default) always types DGFIP_LOGIN and DGFIP_PASSWORD: both are asked for at once."""
    journal, vault = tmp_path / "journal.sqlite", tmp_path / "vault.json"
    where = ["--journal", str(journal), "--vault", str(vault), "--portal-url", "http://127.0.0.1:9"]
    unset = {"DGFIP_LOGIN": "", "DGFIP_PASSWORD": "", "CHORUS_LOGIN": "", "CHORUS_PASSWORD": ""}
    done = robot("run", FLOW, "--var", "structure=21300351900013", *where, env=unset)
    assert done.returncode == 2, done.stderr
    assert "DGFIP_LOGIN" in done.stderr and "DGFIP_PASSWORD" in done.stderr and "CHORUS" not in done.stderr
    assert not journal.exists() and not vault.exists(), "no run noted, nothing opened"
    assert "navigateur" not in done.stderr and "Traceback" not in done.stderr and "recordings" not in done.stderr


def test_a_dot_env_not_in_utf8_is_named_and_version_still_answers(tmp_path: Path):
    (tmp_path / ".env").write_bytes("DGFIP_LOGIN=x\nDGFIP_PASSWORD=café\n".encode("latin-1"))
    version = robot("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("chorus-robot ")
    status = robot("status", cwd=tmp_path)
    assert status.returncode == 2
    assert f"{tmp_path / '.env'} : le fichier n'est pas en UTF-8 (octet 0xe9 ligne 2)" in status.stderr
    assert "Traceback" not in status.stderr and "erreur interne" not in status.stderr
