"""The bulk onboarding file: every row checked, with its line, before the portal is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from robots.errors import BadInput
from robots.jobs.accounts.onboarding import generate_password
from robots.jobs.accounts.rows import AccountRow, check_row, read_rows
from robots.jobs.parametrage.model import StructureState
from robots.support.parsers import siret_problem, siret_valid
from tests.conftest import PROJECT


def test_the_example_files_are_valid():
    for name in ("users.csv", "users.yaml"):
        rows = read_rows(PROJECT / "examples" / name)
        assert rows and all(not r.problems for r in rows), [(r.line, r.problems) for r in rows]


def test_csv_with_commas_reports_each_bad_row_with_its_line(tmp_path: Path):
    users = tmp_path / "users.csv"
    users.write_text(
        "email,nom,prenom,siret,type,identifiant,raison_sociale,adresse,code_postal,ville,pays,espaces\n"
        "ok@ex.fr,A,B,49931830000013,,,,,,,,\n"
        "\n"
        "pas-une-adresse,A,B,4993183000001,,,,,,,,\n"
        "c@ex.fr,A,B,,Structure lunaire,,,,,,,\n"
        "d@ex.fr,A,B,,Structure européenne hors France,12345,X,Y,Z,V,P,Mémoires de frais de justice\n"
        "ok@ex.fr,A,B,49931830000013,,,,,,,,Tout\n",
        encoding="utf-8",
    )
    problems = {r.line: " ; ".join(r.problems) for r in read_rows(users)}
    assert problems[2] == ""
    assert "adresse électronique « pas-une-adresse » invalide" in problems[4] and "14 chiffres" in problems[4]
    assert "« type » doit être l'un de" in problems[5]
    assert "TVA intracommunautaire" in problems[6] and "categorie_prestataire" in problems[6]
    assert "déjà présente ligne 2" in problems[7] and "espace(s) inconnu(s) : Tout" in problems[7]


def test_yaml_rows_keep_their_line(tmp_path: Path):
    users = tmp_path / "users.yaml"
    users.write_text("- email: a@ex.fr\n  nom: A\n  prenom: B\n  siret: '49931830000013'\n- just a string\n")
    rows = read_rows(users)
    assert [(r.line, bool(r.problems)) for r in rows] == [(1, False), (5, True)]


@pytest.mark.parametrize("content", ["email;nom\nx;y\n", "not: [a list"])
def test_unreadable_files_are_bad_input(tmp_path: Path, content: str):
    users = tmp_path / ("users.yaml" if content.startswith("not") else "users.csv")
    users.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput):
        read_rows(users)


LA_POSTE = "35600000000015"  # SIREN 356000000: the sum of the digits is a multiple of 5, the Luhn key is wrong


def test_one_siret_check_for_the_whole_project():
    assert siret_valid("79954986000010") and siret_problem("79954986000011") == "key"
    assert siret_problem("7995498600001") == "format" and siret_problem("7995498600001A") == "format"
    assert siret_valid(LA_POSTE) and siret_problem("35600000000016") == "key"
    row = AccountRow(2, {"email": "guichet@laposte.example", "nom": "Poste", "prenom": "Léa", "siret": LA_POSTE})
    check_row(row)
    assert row.problems == [], "an account row takes La Poste's SIRET, as parametrisation does"
    assert StructureState(identifiant=LA_POSTE).identifiant == LA_POSTE
    from fixtures.mock_portal.accounts import siret_problem as portal_check

    assert portal_check(LA_POSTE) is None and portal_check("35600000000016") == "siret_key"


def test_generated_passwords():
    password = generate_password()
    assert len(password) == 16 and "/" not in password
    assert all(any(c in kind for c in password) for kind in ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz",
                                                             "0123456789", "-_.:!?#%+="))  # fmt: skip
