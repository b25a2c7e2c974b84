"""Issue 10 on the « portail de services » mock: one portal, two front ends — what the 2022 screens change is
what the legacy screens show, with the same portal checks and the same `writes` counter (Flask test client)."""

from __future__ import annotations

from flask.testing import FlaskClient

from fixtures.mock_portal import create_app
from tests.conftest import PROJECT

DATA = PROJECT / "tests" / "portals" / "parametrage.yaml"
MANAGE = "/aife_csm/fr?id=aife_catitem_details&cat_item_id=gerer_structure"
VILLENEUVE, EAUX = "21300351900013", "25300096600023"


def logged_in() -> FlaskClient:
    client = create_app(DATA, generation="services").test_client()
    with client.session_transaction() as session:
        session["chorus_login"] = "gp.syndicat"
    return client


def test_modifier_une_structure_saves_into_the_state_the_legacy_screens_edit():
    client = logged_in()
    form = client.get(f"{MANAGE}&type_demande=modifier&identifiant={VILLENEUVE}").text
    assert "Soumettre" in form and 'id="statut" class="form-control" value="Inactif" readonly' in form
    assert "<td>Utilisateur</td><td></td>" in form  # « Utilisateur simple » is « Utilisateur » without a profile
    fields = {"libelle": "Commune de Villeneuve", "email": "finances@villeneuve.example",
              "adresse_adresse": "1 RUE DE LA REPUBLIQUE", "adresse_code_postal": "30400",
              "adresse_ville": "VILLENEUVE", "adresse_pays": "FRANCE"}  # fmt: skip
    done = client.post(f"{MANAGE}&type_demande=modifier&identifiant={VILLENEUVE}", data=fields)
    assert "a bien été soumise" in done.text
    refused = client.post(
        f"{MANAGE}&type_demande=modifier&identifiant={EAUX}", data={"libelle": "X", "email": "x@y.fr"}
    )
    assert "Le champ « Adresse » est obligatoire." in refused.text
    assert "a bien été soumise" in client.post(f"{MANAGE}&type_demande=activer&identifiant={VILLENEUVE}").text

    state = client.get("/__mock__/state").json
    villeneuve = next(s for s in state["structures"] if s["identifiant"] == VILLENEUVE)
    assert (villeneuve["libelle"], villeneuve["statut"], state["writes"]) == ("Commune de Villeneuve", "ACTIF", 2)
    client.post("/__mock__/options", json={"generation": "legacy"})
    assert 'value="Commune de Villeneuve"' in client.get(f"/cpp/structure/{VILLENEUVE}").text


def test_the_organisation_modification_profile_is_the_former_secondary_manager():
    client = logged_in()
    start = client.post(f"{MANAGE}&type_demande=modifier&identifiant={VILLENEUVE}", data={"action": "rattacher"})
    window = start.headers["Location"]
    assert "Organisation modification" in client.get(window).text
    client.post(window, data={"email": "a.vert@syndicat30.example", "profil": "Organisation modification"})
    draft = client.get(f"{MANAGE}&type_demande=modifier&identifiant={VILLENEUVE}&brouillon=1").text
    assert "a.vert@syndicat30.example</td><td>Utilisateur</td><td>Organisation modification</td>" in draft


def test_mon_compte_is_edited_one_value_at_a_time_with_the_portal_checks():
    client = logged_in()
    page = client.get("/aife_csm/fr?id=aife_mon_compte").text
    assert "Notification Facturation" in page and ">FAUX</a>" in page
    assert ">VRAI</a>" in client.post("/aife_csm/fr?id=aife_mon_compte&champ=notifications", data={"valeur": "on"}).text
    bad = client.post("/aife_csm/fr?id=aife_mon_compte&champ=telephone", data={"valeur": "04 66 00 00 00"}).text
    assert "doit être au format international (+33 545XXXXXX)" in bad
    state = client.get("/__mock__/state").json
    assert state["mon_compte"]["gp.syndicat"]["notifications"] is True and state["writes"] == 1
