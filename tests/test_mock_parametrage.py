"""Issue 10, the mock's side: screen 5 editable in every block with the portal's checks, screen 8, `writes`."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.test_mock_portal import app_client, chorus_as, structure_of, text  # noqa: F401 - fixture

COMMUNE = "21470244100012"


def full_form(structure: dict, **changes: str) -> dict[str, str]:
    """The main form of screen 5 as the page shows it, with some fields changed."""
    form = {"libelle": structure["libelle"], "email": structure["email"], "statut": "Actif"}
    form |= {f"adresse_{k}": v for k, v in structure["adresse"].items()}
    return form | changes


def open_commune(app_client) -> tuple[FlaskClient, dict, str]:  # noqa: F811
    client, state = app_client
    chorus_as(client, state, biggest=False)
    url = f"/cpp/structure/{COMMUNE}"
    client.get(url)
    return client, structure_of(client, COMMUNE), url


def writes(client: FlaskClient) -> int:
    return client.get("/__mock__/state").get_json()["writes"]


def test_the_portal_checks_the_form_and_saves_nothing_on_error(app_client):  # noqa: F811
    client, structure, url = open_commune(app_client)
    bad = full_form(
        structure, libelle="", email="pas-une-adresse", adresse_code_postal="472", adresse_telephone="05 53 89 51 52"
    )
    page = text(client.post(url, data=bad))
    assert 'role="alert"' in page
    for message in (
        "Le champ « Libellé de la structure » est obligatoire.",
        "Le format du champ « Adresse électronique » est incorrect.",
        "Le code postal doit comporter 5 chiffres.",
        "Le champ « Téléphone » doit être au format international (+33 545XXXXXX).",
    ):
        assert message in page
    assert 'value="pas-une-adresse"' in page  # what was typed stays on the screen
    assert structure_of(client, COMMUNE)["libelle"] == structure["libelle"]
    assert writes(client) == 0


def test_every_block_is_saved_by_enregistrer_only(app_client):  # noqa: F811
    client, structure, url = open_commune(app_client)
    form = full_form(
        structure, libelle="Commune de Sainte-Gemme", emetteur_edi="on", typeStructure="publique",
        banque_titulaire="Commune", banque_iban="FR76 3000 6000 0112 3456 7890 189", banque_bic="AGRIFRPP",
        recevoir_edi="on", statut="Inactif",
    )  # fmt: skip
    client.post(url, data={**form, "action": "ajouter_service"})
    client.post(f"{url}/service", data={"code": "SERV_RH", "libelle": "Ressources humaines"})
    page = text(client.get(f"{url}?brouillon=1"))
    assert "SERV_RH" in page and 'value="Commune de Sainte-Gemme"' in page  # typed values survived the sub-screen
    client.post(url, data={**form, "action": "ajouter_espaces"})
    client.post(f"{url}/espaces", data={"espace": ["Factures reçues", "Engagements"]})
    client.post(url, data={**form, "action": "modifier_role:secretariat.sainte-gemme@example.org"})
    client.post(f"{url}/role?cle=secretariat.sainte-gemme@example.org", data={"role": "Gestionnaire Secondaire"})
    client.post(url, data={**form, "action": "rattacher"})
    client.post(f"{url}/rattacher", data={"email": "n.fabre@siagep30.example", "role": "Utilisateur simple"})
    client.post(url, data={**form, "action": "desactiver", "utilisateur_selection": "n.fabre@siagep30.example"})
    assert structure_of(client, COMMUNE)["services"] == structure["services"]  # nothing saved yet
    assert writes(client) == 0

    assert "Les modifications ont été enregistrées." in text(client.post(url, data={**form, "action": "enregistrer"}))
    after = structure_of(client, COMMUNE)
    assert after["libelle"] == "Commune de Sainte-Gemme" and after["statut"] == "INACTIF"
    assert after["informations"]["emetteur_edi"] is True and after["parametres"]["recevoir_edi"] is True
    assert after["coordonnees_bancaires"]["bic"] == "AGRIFRPP"
    assert {"code": "SERV_RH", "libelle": "Ressources humaines", "actif": True} in after["services"]
    assert set(after["espaces"]) == {"Factures émises", "Factures reçues", "Engagements"}
    assert {"email": "secretariat.sainte-gemme@example.org", "role": "Gestionnaire Secondaire", "actif": True} in after[
        "utilisateurs"
    ]
    assert {"email": "n.fabre@siagep30.example", "role": "Utilisateur simple", "actif": False} in after["utilisateurs"]
    assert writes(client) == 1


def test_factures_publiques_can_be_neither_changed_nor_removed(app_client):  # noqa: F811
    client, structure, url = open_commune(app_client)
    page = text(client.get(url))
    assert not re.search(r'value="(modifier|supprimer)_service:FACTURES_PUBLIQUES"', page)
    refused = "Le service par défaut FACTURES_PUBLIQUES ne peut être ni modifié ni supprimé."
    removal = {**full_form(structure), "action": "supprimer_service:FACTURES_PUBLIQUES"}
    assert refused in text(client.post(url, data=removal))
    assert refused in text(client.post(f"{url}/service?cle=FACTURES_PUBLIQUES", data={"libelle": "x"}))


def test_sub_screens_have_their_own_checks(app_client):  # noqa: F811
    client, _, url = open_commune(app_client)
    stranger = {"email": "personne@example.org", "role": "Utilisateur simple"}
    unknown = text(client.post(f"{url}/rattacher", data=stranger))
    assert "Aucun compte utilisateur ne correspond à cette adresse électronique." in unknown
    assert "Le champ « Code du service » est obligatoire." in text(client.post(f"{url}/service", data={"libelle": "x"}))
    assert "Veuillez sélectionner au moins un espace." in text(client.post(f"{url}/espaces", data={}))


def test_mon_compte_is_a_form_with_its_checks(app_client):  # noqa: F811
    client, state = app_client
    account = chorus_as(client, state, biggest=False)
    page = text(client.get("/cpp/moncompte"))
    assert "Recevoir des notifications" in page and "Mes rattachements aux structures" in page
    form = {
        "email": "mairie@example.org", "nom": "BOUTY", "prenom": "Véronique", "adresse_adresse": "Le Bourg",
        "adresse_code_postal": "47250", "adresse_ville": "SAINTE-GEMME", "adresse_pays": "FRANCE",
        "langue": "Français", "notifications": "on",
    }  # fmt: skip
    assert "Le champ « Nom » est obligatoire." in text(client.post("/cpp/moncompte", data={**form, "nom": ""}))
    assert "Les modifications ont été enregistrées." in text(client.post("/cpp/moncompte", data=form))
    mon_compte = client.get("/__mock__/state").get_json()["mon_compte"][account["login"]]
    assert mon_compte["notifications"] is True and mon_compte["email"] == "mairie@example.org"
    assert writes(client) == 1
