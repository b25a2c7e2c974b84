"""`chorus-robot mock-portal` as a support team starts it: every wrong option said in French with exit 2, and a
mail folder made beforehand taken as it is."""

from __future__ import annotations

import mailbox
import socket
from pathlib import Path

from fixtures.mock_portal import create_app
from fixtures.mock_portal.accounts import AccountSettings
from tests.conftest import DEMO_DATA, robot
from tests.test_mock_accounts import person, start, submit

KNOWN_SIRET = "79954986000010"


def test_an_empty_mail_folder_made_beforehand_receives_the_activation_mail(tmp_path: Path):
    folder = tmp_path / "Maildir"
    folder.mkdir()
    app = create_app(DEMO_DATA, generation="legacy", account_settings=AccountSettings(maildir=folder))
    client = app.test_client()
    answer = submit(client, start(client, "nouvelle@ex.fr", KNOWN_SIRET), **person("nouvelle@ex.fr"))
    assert answer.status_code < 500
    (message,) = list(mailbox.Maildir(folder, create=False))
    assert message["To"] == "nouvelle@ex.fr"


def said(*args: str) -> tuple[int, str]:
    done = robot("mock-portal", "--port", "0", *args)
    assert "Traceback" not in done.stderr and "erreur interne" not in done.stderr, done.stderr
    return done.returncode, done.stderr


def test_a_data_file_that_is_a_folder_or_not_utf8_is_named(tmp_path: Path):
    code, message = said("--data", str(tmp_path))
    assert code == 2 and f"--data {tmp_path} : c'est un dossier" in message
    latin1 = tmp_path / "portail.yaml"
    latin1.write_bytes("structures: []\n# créée\n".encode("latin-1"))
    code, message = said("--data", str(latin1))
    assert code == 2 and "n'est pas en UTF-8" in message and "ligne 2" in message


def test_a_wrong_link_validity_and_a_busy_port_are_said_in_french(tmp_path: Path):
    code, message = said("--link-validity", "3h")
    assert code == 2 and "--link-validity « 3h » : une durée en jours ou en minutes est attendue" in message
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = robot("mock-portal", "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert f"--port {port} : le port est déjà pris" in done.stderr and "Traceback" not in done.stderr


def test_the_mock_portal_s_options_are_read_after_a_global_config_option_too():
    config = Path(__file__).resolve().parent.parent / "config" / "robot.yaml"
    done = robot("--config", str(config), "mock-portal", "--port", "99999")
    assert done.returncode == 2 and "« 99999 » : un port de 0 à 65535 est attendu" in done.stderr, done.stderr
