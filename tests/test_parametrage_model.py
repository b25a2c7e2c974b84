"""Issue 10 without a browser: the desired-state file never crashes the robot; differences become writes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given

from robots.jobs.parametrage import diff
from robots.jobs.parametrage.model import RequestPolicy, StructureState, iban_valid, load_desired_state
from tests.conftest import PROJECT
from tests.test_fuzzed_input import FUZZ, folder, loads_or_bad_input, mutated

DESIRED = PROJECT / "tests" / "portals" / "parametrage-desired.yaml"


@FUZZ
@given(mutated(DESIRED))
def test_malformed_desired_state_files_are_bad_input(data: bytes):
    with folder() as tmp:
        (tmp / "desired.yaml").write_bytes(data)
        loads_or_bad_input(load_desired_state, tmp / "desired.yaml")


def test_iban_key():
    assert iban_valid("FR76 3000 6000 0112 3456 7890 189") and not iban_valid("FR76 3000 6000 0112 3456 7890 188")


def test_only_the_keys_given_are_compared_and_lists_become_writes():
    current = {
        "statut": "INACTIF", "libelle": "", "email": "a@b.example", "informations": {"emetteur_edi": False},
        "adresse": {"pays": "FRANCE", "ville": "ALES"}, "coordonnees_bancaires": {}, "parametres": {},
        "services": [{"code": "FACTURES_PUBLIQUES", "libelle": "Service par défaut de la structure", "actif": True},
                     {"code": "OLD", "libelle": "Ancien", "actif": True},
                     {"code": "RH", "libelle": "RH", "actif": True}],
        "espaces": ["Factures émises", "Engagements"],
        "utilisateurs": [{"email": "u@b.example", "role": "Utilisateur simple", "actif": True},
                         {"email": "v@b.example", "role": "Utilisateur simple", "actif": False}],
    }  # fmt: skip
    desired = StructureState.model_validate(
        {
            "identifiant": "21470244100012", "statut": "ACTIF", "adresse": {"pays": "France"},
            "services": [{"code": "RH", "libelle": "Ressources humaines", "actif": False},
                         {"code": "NEW", "libelle": "N"}],
            "espaces": ["Factures émises", "Factures reçues"],
            "utilisateurs": [{"email": "U@b.example", "role": "Gestionnaire Secondaire", "actif": False},
                             {"email": "v@b.example", "role": "Utilisateur simple"},
                             {"email": "w@b.example", "role": "Utilisateur simple", "actif": False}],
        }
    )  # fmt: skip
    changes = diff.structure_changes(desired, current)
    assert ("informations_generales", "libelle") not in {(c.block, c.field) for c in changes}  # not in the file
    assert ("adresse", "pays") not in {(c.block, c.field) for c in changes}  # the list's own case
    ecrire = diff.writes_for(changes)
    assert ecrire["informations_generales"] == {"statut": "ACTIF"}
    assert ecrire["services_a_ajouter"] == [{"code": "NEW", "libelle": "N", "actif": True}]
    assert ecrire["services_a_modifier"] == [
        {"code": "RH", "champs": {"libelle": "Ressources humaines", "actif": False}}
    ]
    assert ecrire["services_a_supprimer"] == [{"code": "OLD"}]  # never FACTURES_PUBLIQUES
    assert (ecrire["espaces_a_ajouter"], ecrire["espaces_a_supprimer"]) == (["Factures reçues"], ["Engagements"])
    assert ecrire["utilisateurs_a_rattacher"] == [{"email": "w@b.example", "role": "Utilisateur simple"}]
    assert ecrire["utilisateurs_a_modifier"] == [
        {"email": "U@b.example", "champs": {"role": "Gestionnaire Secondaire"}}
    ]
    assert ecrire["utilisateurs_a_desactiver"] == ["U@b.example", "w@b.example"]
    assert ecrire["utilisateurs_a_reactiver"] == ["v@b.example"]


def test_the_request_policy_goes_by_the_requesters_domain():
    policy = RequestPolicy(accept_domains=["siagep30.fr"], refuse_others=False)
    assert policy.decision("a.b@SIAGEP30.fr") == "valider"
    assert policy.decision("a.b@gmail.example") is None
    assert RequestPolicy(refuse_others=True).decision("a.b@gmail.example") == "refuser"


def test_the_example_file_gets_advice_not_errors(tmp_path: Path):
    text = (PROJECT / "examples" / "parametrage.yaml").read_text(encoding="utf-8")
    path = tmp_path / "advice.yaml"
    path.write_text(text.replace("engagement_obligatoire: false", "engagement_obligatoire: true"), encoding="utf-8")
    notes = diff.advice(load_desired_state(path)[0])
    assert any("non conseillé" in note for note in notes)
