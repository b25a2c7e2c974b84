"""Mock portal screens 9–16 through Flask's client: the four branches, the errors, the links, the mails."""

from __future__ import annotations

import html
import mailbox
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from fixtures.mock_portal import create_app
from fixtures.mock_portal.accounts import AccountSettings
from tests.conftest import DEMO_DATA

NEW_SIRET = "49931830000013"  # in the mock's INSEE table, not in Chorus Pro
KNOWN_SIRET = "79954986000010"  # already in Chorus Pro
EU_STRUCTURE = "DE811907980"  # in Chorus Pro without SIRET, with a secret question
PASSWORD = "Bonjour-2026x"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    app = create_app(DEMO_DATA, generation="legacy", account_settings=AccountSettings(maildir=tmp_path / "Maildir"))
    app.config["maildir"] = tmp_path / "Maildir"
    yield app.test_client()


def text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def captcha(client: FlaskClient) -> str:
    return client.get("/__mock__/captcha").get_json()["answer"]


def start(client: FlaskClient, email: str, siret: str = "", sans_siret: bool = False) -> str:
    query = {"email": email, "siret": siret, **({"sans_siret": "1"} if sans_siret else {})}
    return client.get("/cpp/ecran/creation-de-compte", query_string=query).get_data(as_text=True)


def submit(client: FlaskClient, page: str, **fields: str):  # type: ignore[no-untyped-def]
    token = re.search(r'name="captcha_jeton" value="([^"]+)"', page).group(1)
    mode = re.search(r'name="mode" value="([^"]+)"', page).group(1)
    siret = re.search(r'name="siret" value="([^"]*)"', page)
    data = {"mode": mode, "captcha_jeton": token, "captcha": captcha(client), **fields}
    if siret:
        data["siret"] = siret.group(1)
    return client.post("/cpp/creation-de-compte", data=data)


def person(email: str) -> dict[str, str]:
    return {"email": email, "email_confirmation": email, "nom": "Uguet", "prenom": "Fanny", "pour": "paiement"}


def last_link(client: FlaskClient) -> str:
    body = client.application.extensions["accounts"].outbox[-1]["text"]
    return re.search(r"<(http[^>]+)>", body).group(1)


def maildir_messages(client: FlaskClient) -> list[mailbox.MaildirMessage]:
    return list(mailbox.Maildir(client.application.config["maildir"]))


def state(client: FlaskClient) -> dict:
    return client.get("/__mock__/state").get_json()


def user(client: FlaskClient, email: str) -> dict:
    return next(u for u in state(client)["users"] if u["email"] == email)


def activate(client: FlaskClient, link: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    path = link.split("localhost", 1)[1]
    data = {"mot_de_passe": password, "confirmation": password, "question": "Ville natale", "reponse": "Rennes"}
    return client.post(path, data=data)


def test_new_siret_creates_the_structure_with_its_manager_then_activation(client):
    page = start(client, "a@ex.fr", NEW_SIRET)
    assert "Je crée ma structure" in page and "MONSIEUR GWENAEL FUMOUX" in page and "78160" in page
    espaces = submit(client, page, **person("a@ex.fr"), adresse="33 AV DE L ABREUVOIR", code_postal="78160",
                     ville="MARLY LE ROI", pays="France")  # fmt: skip
    assert espaces.status_code == 303
    screen = client.get(espaces.headers["Location"])
    assert "Bienvenue MONSIEUR GWENAEL FUMOUX" in text(screen) and "Mes espaces de travail" in text(screen)
    missing = client.post(espaces.headers["Location"], data={"espaces": ["Mémoires de frais de justice"]})
    assert "Veuillez renseigner la catégorie de prestataire." in text(missing)
    recap = client.post(espaces.headers["Location"], data={"espaces": ["Factures émises"]})
    assert "Vous êtes désormais gestionnaire principal de la structure suivante" in text(recap)
    assert user(client, "a@ex.fr")["status"] == "pending_activation"
    created = next(s for s in state(client)["structures"] if s["identifiant"] == NEW_SIRET)
    assert created["manager"] == "a@ex.fr"
    link = last_link(client)
    [mail] = maildir_messages(client)
    assert mail["From"] == "Choruspro.notification.aife@finances.gouv.fr" and mail["To"] == "a@ex.fr"
    assert "Activer votre compte" in mail.as_string() and "Bonjour Mr ou Mme UGUET" in mail.as_string()
    assert "Activation du compte utilisateur" in text(client.get(link.split("localhost", 1)[1]))
    assert "Le mot de passe ne respecte pas les règles de sécurité." in text(activate(client, link, "court"))
    assert "Votre compte est activé" in text(activate(client, link))
    assert user(client, "a@ex.fr") == {
        "email": "a@ex.fr", "nom": "UGUET", "prenom": "Fanny", "status": "active",
        "structures": [NEW_SIRET], "role": "gestionnaire principal",
    }  # fmt: skip
    assert "Activation du compte refusée." in text(client.get(link.split("localhost", 1)[1]))  # used once
    login = client.post("/cpp/connexion", data={"username": "a@ex.fr", "password": PASSWORD})
    assert login.headers["Location"].endswith("/cpp/accueil")


def test_known_siret_sends_a_rattachement_request_its_manager_answers(client):
    page = start(client, "b@ex.fr", KNOWN_SIRET)
    assert "Les informations de ma structure" in page and "readonly" not in page.split("bloc-structure")[1]
    recap = submit(client, page, **person("b@ex.fr"))
    assert "une demande de rattachement à la structure" in text(recap).lower()
    structure = next(s for s in state(client)["structures"] if s["identifiant"] == KNOWN_SIRET)
    assert structure["rattachement_requests"] == [{"id": "rattachement-2", "email": "b@ex.fr", "status": "pending"}]
    client.post("/cpp/connexion", data={"username": "f.uguet@dressing-louise.example", "password": "Lz4&vRt8WqNm"})
    assert "UGUET Fanny (b@ex.fr)" in text(client.get("/cpp/gestionnaire/activites"))
    client.post("/cpp/gestionnaire/demandes/rattachement-2", data={"action": "refuser"})
    structure = next(s for s in state(client)["structures"] if s["identifiant"] == KNOWN_SIRET)
    assert structure["rattachement_requests"][0]["status"] == "refused"
    assert user(client, "b@ex.fr")["structures"] == []


def test_without_siret_the_type_shows_its_fields_then_espaces(client):
    page = start(client, "c@ex.fr", sans_siret=True)
    assert "Vous êtes ? *" in page and "Structure européenne hors France" in page
    typed = submit(client, page, **person("c@ex.fr"), type="Structure européenne hors France")
    assert "Veuillez renseigner la TVA intracommunautaire dans le champ Identifiant" in text(typed)
    fields = {"identifiant": "IT01234567890", "raison_sociale": "VINI ROSSI", "adresse": "Via Roma 1",
              "code_postal": "00100", "ville": "ROMA", "pays": "Italie"}  # fmt: skip
    espaces = submit(client, typed.get_data(as_text=True), **person("c@ex.fr"), type="Structure européenne hors France",
                     **fields)  # fmt: skip
    assert espaces.status_code == 303 and "/espaces" in espaces.headers["Location"]


def test_without_siret_an_existing_structure_asks_its_secret_question(client):
    page = start(client, "d@ex.fr", sans_siret=True)
    fields = {"identifiant": EU_STRUCTURE, "raison_sociale": "WEINGUT", "adresse": "x", "code_postal": "1",
              "ville": "MAINZ", "pays": "Allemagne", "type": "Structure européenne hors France"}  # fmt: skip
    question = submit(client, page, **person("d@ex.fr"), **fields)
    assert question.status_code == 303
    shown = text(client.get(question.headers["Location"]))
    assert "Question secrète" in shown and "Ville du siège" in shown
    wrong = client.post(question.headers["Location"], data={"reponse": "Berlin"})
    assert "La réponse à la question secrète est incorrecte." in text(wrong)
    recap = client.post(question.headers["Location"], data={"reponse": "mainz"})
    assert "Sans rattachement à la structure" in text(recap)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"siret": "4993183000001"}, "Le numéro de SIRET doit comporter 14 chiffres."),
        ({"siret": "49931830000014"}, "Le numéro de SIRET saisi n'est pas valide."),
        ({"siret": "12345678900007"}, "Le numéro de SIRET saisi est inconnu de la base INSEE."),
        ({"email": "compta@transports-garonne.example"}, "Cette adresse électronique est déjà utilisée"),
    ],
)
def test_home_refuses_bad_sirets_and_used_addresses(client, query, error):
    answer = client.get("/cpp/ecran/creation-de-compte", query_string={"email": "e@ex.fr", "siret": NEW_SIRET, **query})
    assert error in text(answer) and "Vous êtes nouveau sur Chorus Pro ?" in text(answer)


def test_creation_form_errors(client):
    page = start(client, "f@ex.fr", NEW_SIRET)
    token = re.search(r'name="captcha_jeton" value="([^"]+)"', page).group(1)
    answer = client.post("/cpp/creation-de-compte", data={
        **person("f@ex.fr"), "email_confirmation": "g@ex.fr", "mode": "new", "siret": NEW_SIRET,
        "captcha_jeton": token, "captcha": "XXXXX",
    })  # fmt: skip
    assert "Les adresses électroniques saisies ne sont pas identiques." in text(answer)
    assert "Les caractères saisis ne correspondent pas à l'image." in text(answer)


def test_expired_link_is_refused_and_recovery_goes_through_question_and_mail(client):
    client.post("/__mock__/accounts", json={"password_min_length": 12})
    page = start(client, "h@ex.fr", KNOWN_SIRET)
    submit(client, page, **person("h@ex.fr"))
    link = last_link(client)
    assert "au minimum 12 caractères" in text(client.get(link.split("localhost", 1)[1]))
    client.post("/__mock__/accounts", json={"expire_links": True})
    assert "Activation du compte refusée." in text(activate(client, link))
    assert user(client, "h@ex.fr")["status"] == "pending_activation"

    page = start(client, "i@ex.fr", KNOWN_SIRET)
    submit(client, page, **person("i@ex.fr"))
    assert "Votre compte est activé" in text(activate(client, last_link(client)))
    forgot = client.get("/cpp/ecran/mot-de-passe-oublie").get_data(as_text=True)
    assert "Mot de passe oublié - Recherche utilisateur" in forgot
    token = re.search(r'name="captcha_jeton" value="([^"]+)"', forgot).group(1)
    found = client.post("/cpp/ecran/mot-de-passe-oublie",
                        data={"email": "i@ex.fr", "captcha_jeton": token, "captcha": captcha(client)})  # fmt: skip
    question = client.get(found.headers["Location"])
    assert "Ville natale" in text(question)
    sent = client.post(found.headers["Location"], data={"reponse": "rennes"})
    assert "Un courriel de modification du mot de passe vous a été envoyé." in text(sent)
    assert "Votre mot de passe a été modifié." in text(activate(client, last_link(client), "Nouveau-2026-mdp"))
    login = client.post("/cpp/connexion", data={"username": "i@ex.fr", "password": "Nouveau-2026-mdp"})
    assert login.headers["Location"].endswith("/cpp/accueil")


def test_the_activation_mail_goes_out_over_smtp():
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        client = create_app(
            DEMO_DATA, generation="legacy", account_settings=AccountSettings(smtp=f"127.0.0.1:{port}")
        ).test_client()
        submit(client, start(client, "smtp@ex.fr", KNOWN_SIRET), **person("smtp@ex.fr"))
    finally:
        controller.stop()
    [mail] = received
    assert "From: Choruspro.notification.aife@finances.gouv.fr" in mail and "To: smtp@ex.fr" in mail
