"""Issue 17: a secret goes only where a secret belongs.

`${secret.…}` and a captured password (read from an element the catalogue or the step marks secret, or from a
field a secret was typed into, or set/passed from one) go into the value of a `fill` or the `password` of a
`store`, nowhere else; the only condition on them is the forbidden-characters test. `validate` refuses the
rest, naming file, line and rule, and so does every `run` before a browser starts or a page is asked for.
"""

from __future__ import annotations

import stat
import urllib.request
from pathlib import Path

import pytest

from robots.cli.flow_tools import validate
from robots.language.catalogue import Catalogue
from robots.language.validation import SECRET_CONDITION, SECRET_PLACE, validate_flow
from tests.conftest import PROJECT, Portal, robot

PLACE = f"{SECRET_PLACE} : "
CONDITION = f"{SECRET_CONDITION} : "
READ_PASSWORD = "(secret lu sur « mot_de_passe_reinitialise.mot_de_passe »)"

# tests/broken_flows/<file> → (line, what the refusal says): one malicious flow per place and per condition.
SECRET_LEAKS = {
    "secret_in_goto.yaml": (6, PLACE + "${secret.pw} dans `goto`"),
    "password_in_log.yaml": (6, PLACE + "${new_password} " + READ_PASSWORD + " dans `log`"),
    "secret_in_set.yaml": (6, PLACE + "${secret.pw} dans `set.copie`"),
    "password_in_message.yaml": (
        6,
        PLACE + "${shown} (secret lu sur « dgfip_authentification.erreur ») dans `fail.message`",
    ),  # fmt: skip
    "secret_in_file_name.yaml": (5, PLACE + "${secret.pw} dans `subject`"),
    "secret_in_search.yaml": (6, PLACE + "${secret.pw} dans `pick_row.where.Identifiant structure`"),
    "password_in_store_key.yaml": (6, PLACE + "${new_password} " + READ_PASSWORD + " dans `store.key`"),
    "password_condition.yaml": (6, CONDITION + "${new_password} " + READ_PASSWORD),
    "secret_compared.yaml": (8, CONDITION + "« guess » comparée à ${secret.pw}"),
}
INPUTS = {"secret_compared.yaml": ["--var", "guess=Xy7E"]}
PORTAL_PASSWORD = "Xy7E-portail-9"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(PROJECT / "selectors")


def problems_of(flow: Path, catalogue: Catalogue) -> list[str]:
    return [str(p) for p in validate_flow(flow, catalogue)]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


READ_NEW_PASSWORD = """  - label: Un mot de passe est généré ; le copier
    read: {element: mot_de_passe_reinitialise.mot_de_passe, into: new_password}
"""


def test_the_issue_s_leak_is_refused_for_both_secrets_at_the_goto_line(tmp_path: Path, catalogue: Catalogue):
    flow = write(
        tmp_path,
        "leak.yaml",
        f"""name: leak
secrets:
  pw: {{env: DGFIP_PASSWORD}}
steps:
{READ_NEW_PASSWORD}  - label: Envoyer
    goto: "${{env.portal_url}}/leak?tech=${{new_password}}&portal=${{secret.pw}}"
""",
    )

    assert problems_of(flow, catalogue) == [
        f"{flow}:7: {PLACE}${{new_password}} {READ_PASSWORD} dans `goto` ; un secret ne va que dans la valeur "
        "d'un `fill` ou le `password` d'un `store`",
        f"{flow}:7: {PLACE}${{secret.pw}} dans `goto` ; un secret ne va que dans la valeur d'un `fill` ou le "
        "`password` d'un `store`",
    ]


def test_a_password_passed_to_a_sub_flow_is_secret_there_too(tmp_path: Path, catalogue: Catalogue):
    write(
        tmp_path,
        "sub.yaml",
        """name: sub
inputs:
  pw: {description: reçu de l'appelant}
steps:
  - label: Le taper est permis
    fill: {element: dgfip_authentification.mot_de_passe, value: "${pw}"}
  - label: L'écrire au journal ne l'est pas
    log: "${pw}"
""",
    )
    caller = write(
        tmp_path,
        "caller.yaml",
        f"""name: caller
steps:
{READ_NEW_PASSWORD}  - label: Appeler
    call: {{flow: sub.yaml, with: {{pw: "${{new_password}}"}}}}
""",
    )

    assert problems_of(tmp_path / "sub.yaml", catalogue) == []  # alone, its input is no secret
    assert problems_of(caller, catalogue) == [
        f"{tmp_path / 'sub.yaml'}:7: {PLACE}${{pw}} (tiré de ${{new_password}}) dans `log` ; un secret ne va que "
        "dans la valeur d'un `fill` ou le `password` d'un `store`"
    ]


def test_a_secret_typed_into_a_field_and_read_back_stays_secret(tmp_path: Path, catalogue: Catalogue):
    flow = write(
        tmp_path,
        "echo.yaml",
        """name: echo
secrets:
  pw: {env: DGFIP_PASSWORD}
steps:
  - label: Taper le secret dans l'identifiant
    fill: {element: dgfip_authentification.identifiant, value: "${secret.pw}"}
  - label: Le relire
    read: {element: dgfip_authentification.identifiant, into: relu}
  - label: Le montrer
    log: "${relu}"
""",
    )

    assert problems_of(flow, catalogue) == [
        f"{flow}:9: {PLACE}${{relu}} (secret lu sur « dgfip_authentification.identifiant ») dans `log` ; "
        "un secret ne va que dans la valeur d'un `fill` ou le `password` d'un `store`"
    ]


@pytest.mark.parametrize(
    "when",
    [
        '{var: new_password, is_set: true}',
        '{var: new_password, contains_any: "/"}',
        '{var: new_password, equals: "Xy7E"}',
        '{all: [{var: structure, is_set: true}, {not: {var: new_password, empty: true}}]}',
    ],
)  # fmt: skip
def test_any_other_test_of_a_password_than_the_forbidden_characters_is_refused(
    tmp_path: Path, catalogue: Catalogue, when: str
):
    flow = write(
        tmp_path,
        "probe.yaml",
        f"""name: probe
inputs:
  structure: {{}}
steps:
{READ_NEW_PASSWORD}  - label: Tester
    if:
      when: {when}
      then: [{{label: oui, log: oui}}]
""",
    )

    assert [p.split(" ; ")[0] for p in problems_of(flow, catalogue)] == [
        f"{flow}:7: {CONDITION}${{new_password}} {READ_PASSWORD}"
    ]


def test_what_the_reset_flows_do_with_a_password_is_allowed(tmp_path: Path, catalogue: Catalogue):
    flow = write(
        tmp_path,
        "reset.yaml",
        """name: reset
inputs:
  structure: {}
steps:
  - label: Réinitialiser jusqu'à un mot de passe sans caractère interdit
    repeat:
      max_attempts: ${settings.max_attempts}
      until: {all: [{not: {var: new_password, contains_any: "${settings.forbidden_characters}"}}]}
      steps:
        - label: Noter la demande
          checkpoint: {key: "${structure}", event: reset_requested}
        - label: Un mot de passe est généré ; le copier
          read: {element: mot_de_passe_reinitialise.mot_de_passe, into: new_password}
        - label: Le ranger
          store: {key: "${structure}", password: new_password}
  - label: Le taper
    fill: {element: dgfip_authentification.mot_de_passe, value: "${new_password}"}
""",
    )

    assert problems_of(flow, catalogue) == []


def test_the_shipped_flows_pass(capsys: pytest.CaptureFixture[str]):
    assert validate([PROJECT / "flows", PROJECT / "tests" / "flows"]) == 0, capsys.readouterr().out


def fake_chromium(folder: Path) -> tuple[Path, Path]:
    """A « Chromium » that only leaves a mark: a run that starts a browser leaves it."""
    marker, program = folder / "chromium-started", folder / "chromium"
    program.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n", encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program, marker


def pages_served(portal: Portal) -> int:
    return portal.call("GET", "/__mock__/pages")["pages"]


@pytest.mark.parametrize("name", sorted(SECRET_LEAKS))
def test_a_run_of_a_leaking_flow_stops_before_any_browser_and_any_request(name: str, portal: Portal, tmp_path: Path):
    program, marker = fake_chromium(tmp_path)

    done = robot(
        "run", f"tests/broken_flows/{name}", "--portal-url", portal.url, *INPUTS.get(name, []),
        env={"CHORUS_ROBOT_CHROMIUM": str(program), "DGFIP_PASSWORD": PORTAL_PASSWORD},
    )  # fmt: skip

    line, message = SECRET_LEAKS[name]
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"tests/broken_flows/{name}:{line}: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert PORTAL_PASSWORD not in done.stdout + done.stderr
    assert not marker.exists(), "a browser was started"
    assert pages_served(portal) == 0, "a page of the portal was asked for"


def test_the_two_witnesses_of_the_run_test_do_see_a_browser_and_a_page(portal: Portal, tmp_path: Path):
    """Without this, the test above could pass because its witnesses see nothing."""
    program, marker = fake_chromium(tmp_path)
    flow = write(
        tmp_path, "harmless.yaml", 'name: harmless\nsteps:\n  - {label: Accueil, goto: "${env.portal_url}/"}\n'
    )

    done = robot("run", str(flow), "--portal-url", portal.url, env={"CHORUS_ROBOT_CHROMIUM": str(program)})
    portal.call("GET", "/__mock__/state")  # the control API is not a page
    with urllib.request.urlopen(portal.url + "/", timeout=10):
        pass

    assert done.returncode != 0 and marker.exists(), done.stdout + done.stderr
    assert pages_served(portal) == 1
