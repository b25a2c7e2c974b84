"""Issue 4, recordings: a recorded reset (trace, video, screenshots, procedure) and failed runs,
none of which holds any password the mock portal knows."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from playwright.sync_api import Browser
from pypdf import PdfReader

from robots.errors import StepFailed
from robots.jobs.replay.procedure import layout, sections
from robots.jobs.replay.recording import KINDS, RecordOptions
from robots.jobs.replay.video_encoder import ensure_video_encoder
from robots.jobs.run import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, Portal, robot

FLOW = PROJECT / "flows" / "reset_technical_password.yaml"
QUEUED = ["Ab/cd3Ef5gH7", "Clean9Pass4Word"]  # the first holds the forbidden « / »: two resets
UNMANAGED = "99999999999993"  # a SIRET with a right key that no account of the demo portal manages
SCREENS = [
    "Authentification", "Accueil", "Accueil non connecté", "Accueil", "Activités du gestionnaire",
    "Modification de la structure", "Confirmation de réinitialisation du mot de passe", "Mot de passe réinitialisé",
]  # fmt: skip


@dataclass
class Recorded:
    folder: Path
    steps: dict
    secrets: set[str]
    error: BaseException | None


def known_secrets(portal: Portal) -> set[str]:
    """Every password of the mock: accounts, technical users; and the logins of its accounts."""
    state = portal.state()
    accounts = {a["password"] for a in state["accounts"]} | {a["login"] for a in state["accounts"]}
    return accounts | {s["technical_user"]["password"] for s in state["structures"]}


def record(
    browser: Browser, portal: Portal, root: Path, options: RecordOptions, flow: Path = FLOW, **variables: str
) -> Recorded:
    account = portal.biggest_account("dgfip")
    secrets = known_secrets(portal)
    error = None
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DGFIP_LOGIN", account["login"])
        env.setenv("DGFIP_PASSWORD", account["password"])
        request = RunRequest(
            flow=flow, portal_url=portal.url, variables=variables, vault_path=root / "vault.json", record=options
        )
        try:
            run_in_browser(browser, prepare(request), request)
        except StepFailed as exc:
            error = exc
    folders = [p for p in root.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    steps = json.loads((folders[0] / "steps.json").read_text(encoding="utf-8"))
    return Recorded(folders[0], steps, secrets | known_secrets(portal), error)


@pytest.fixture(scope="module")
def module_portal(mock_server: str) -> Portal:
    return Portal(mock_server)


@pytest.fixture(scope="module")
def reset_recording(browser: Browser, module_portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    portal = module_portal
    portal.reset()
    structure = portal.managed_by(portal.biggest_account("dgfip")["login"])[1]["identifiant"]
    portal.next_passwords(QUEUED)
    root = tmp_path_factory.mktemp("recordings")
    recorded = record(browser, portal, root, RecordOptions(frozenset(KINDS), root), structure=structure)
    assert recorded.error is None
    assert portal.structure(structure)["reset_count"] == 2
    recorded.secrets |= set(QUEUED)
    return recorded


@pytest.fixture(scope="module")
def failed_recording(browser: Browser, module_portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """A run on a structure the account does not manage, without --record."""
    portal = module_portal
    portal.reset()
    root = tmp_path_factory.mktemp("failed")
    recorded = record(browser, portal, root, RecordOptions(frozenset(), root), structure=UNMANAGED)
    assert isinstance(recorded.error, StepFailed)
    return recorded


@pytest.fixture(scope="module")
def shown_not_read(browser: Browser, module_portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """A run that fails while the new password is on the screen, before the robot read it."""
    portal = module_portal
    portal.reset()
    structure = portal.managed_by(portal.biggest_account("dgfip")["login"])[0]["identifiant"]
    root = tmp_path_factory.mktemp("shown")
    flow = root / "flow.yaml"
    common = PROJECT / "flows" / "common"
    flow.write_text(
        f"""name: reset_then_fail
inputs:
  structure: {{}}
steps:
  - call: {{flow: {common / "login.yaml"}}}
  - call: {{flow: {common / "read_technical_user.yaml"}}}
  - click: modification_structure.reinitialiser_mot_de_passe
  - click: confirmation_reinitialisation.confirmer
  - expect_screen: mot_de_passe_reinitialise
  - fail: {{message: "arrêt avant la lecture du mot de passe"}}
""",
        encoding="utf-8",
    )
    recorded = record(browser, portal, root, RecordOptions(frozenset(), root), flow=flow, structure=structure)
    assert isinstance(recorded.error, StepFailed)
    assert portal.structure(structure)["reset_count"] == 1
    return recorded


def every_file(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under the folder, and every entry of every zip in it, recursively."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        yield from _with_entries(str(path.relative_to(folder)), path.read_bytes())


def _with_entries(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield name, data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for entry in archive.namelist():
                yield from _with_entries(f"{name}!{entry}", archive.read(entry))


def assert_no_secret(recorded: Recorded) -> None:
    forms = {f for s in recorded.secrets for f in (s, quote(s, safe=""), quote_plus(s))}
    searched = 0
    for name, data in every_file(recorded.folder):
        searched += 1
        leaks = [f for f in forms if f.encode() in data]
        assert not leaks, f"{name} holds a secret"
    assert searched > 3


def assert_trace_loads(trace: Path, screencast: bool = True) -> None:
    """A trace the viewer loads; a failure-only trace (no --record) has DOM snapshots but no screencast (cheaper)."""
    with zipfile.ZipFile(trace) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert {"trace.trace", "trace.network"} <= names
        events = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines() if line]
        network = [json.loads(line) for line in archive.read("trace.network").decode().splitlines() if line]
    assert events[0]["type"] == "context-options"
    assert any(e.get("type") == "before" and e.get("method") == "click" for e in events)
    assert any(e.get("type") == "frame-snapshot" for e in events)
    assert any(e.get("type") == "screencast-frame" for e in events) == screencast
    assert network, "the trace holds the portal's pages"


# ---------------------------------------------------------------- a recorded reset


def test_the_recording_of_a_reset_holds_a_trace_the_viewer_loads(reset_recording: Recorded):
    folder = reset_recording.folder
    assert re.fullmatch(r"\d{8}-\d{6}-reset_technical_password-\d{14}", folder.name)
    assert_trace_loads(folder / "trace.zip")
    log = (folder / "run.log").read_text(encoding="utf-8")
    assert "Cliquez sur « connexion »" in log and "Confirmer la réinitialisation du mot de passe" in log
    assert reset_recording.steps["status"] == "ok"


@pytest.mark.skipif(not ensure_video_encoder(), reason="no ffmpeg on this machine: apt-get install ffmpeg")
def test_the_recording_holds_a_video(reset_recording: Recorded):
    video = reset_recording.folder / "video.webm"
    assert video.stat().st_size > 10_000
    assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM (Matroska) header
    assert reset_recording.steps["video"] == "video.webm"


def test_one_screenshot_per_step_on_the_portal(reset_recording: Recorded):
    steps = reset_recording.steps["steps"]
    on_portal = [s for s in steps if s["command"] in {"goto", "expect_screen", "fill", "click", "read", "pick_row"}]
    shots = sorted(p.name for p in reset_recording.folder.glob("[0-9][0-9]-*.png"))
    assert len(shots) == len(on_portal) > 20
    assert [s["screenshot"] for s in on_portal] == shots
    assert all(s["status"] == "ok" and s["screen"] for s in on_portal)
    confirm = next(s for s in on_portal if s["label"] == "Confirmer la réinitialisation du mot de passe")
    assert confirm["screen"] == "Confirmation de réinitialisation du mot de passe"
    assert confirm["element"] == "confirmation_reinitialisation.confirmer"
    assert confirm["box"]["width"] > 10 and confirm["box"]["height"] > 10
    assert confirm["screenshot"].endswith("-Confirmer-la-reinitialisation-du-mot-de-passe.png")


def test_the_procedure_follows_the_screens(reset_recording: Recorded):
    folder = reset_recording.folder
    titles = [s.title for s in sections(reset_recording.steps["steps"])]
    assert titles[: len(SCREENS)] == SCREENS
    assert titles.count("Mot de passe réinitialisé") == 2  # one per reset
    printed = (folder / "procedure.html").read_text(encoding="utf-8")
    # As a reader sees it: quotations are unbreakable spans, French spaces non-breaking.
    html = re.sub(r'<span class="q">(.*?)</span>', r"\1", printed).replace("\u00a0", " ")
    headings = re.findall(r"<h2>Écran « (.+?) »(?: — [^<(]+)?</h2>", html)
    assert [h.replace("&#x27;", "'") for h in headings] == titles
    assert "<h2>Écran « Accueil » — Chorus Pro</h2>" in html
    assert "<h1>Changement de mot de passe du compte technique Chorus Pro</h1>" in html
    for label in ("Renseignez le champ « identifiant »", "Cliquez « Chorus Pro »",
                  "Cliquez sur le bouton « Réinitialiser le mot de passe (utilisateur technique) »"):  # fmt: skip
        assert label.replace("'", "&#x27;") in html
    assert html.count("data:image/png;base64,") >= len(titles)
    assert html.count('class="box"') >= 8  # the elements to act on, outlined
    assert (folder / "procedure.pdf").read_bytes()[:5] == b"%PDF-"
    # Printed as laid out (issue 19): no section ran over onto a page the layout did not plan.
    assert len(PdfReader(folder / "procedure.pdf").pages) == len(layout(reset_recording.steps, folder))


def test_no_secret_in_the_recording_of_a_reset(reset_recording: Recorded):
    assert_no_secret(reset_recording)


# ---------------------------------------------------------------- failed runs, without --record


def test_a_failed_run_keeps_its_trace_and_a_screenshot(failed_recording: Recorded):
    folder = failed_recording.folder
    assert folder.name.endswith(f"-reset_technical_password-{UNMANAGED}")
    assert_trace_loads(folder / "trace.zip", screencast=False)
    failed = [s for s in failed_recording.steps["steps"] if s.get("error")]
    assert len(failed) == 1 and failed[0]["command"] == "pick_row"
    assert (folder / failed[0]["failure_screenshot"]).stat().st_size > 1000
    assert failed_recording.steps["status"] == "failed"
    assert not list(folder.glob("[0-9][0-9]-*.png")), "without --record, no screenshot per step"
    assert_no_secret(failed_recording)


def test_a_password_shown_but_not_read_is_scrubbed_too(shown_not_read: Recorded):
    assert_trace_loads(shown_not_read.folder / "trace.zip", screencast=False)
    assert_no_secret(shown_not_read)


def test_a_successful_run_without_record_leaves_nothing(browser: Browser, portal: Portal, tmp_path: Path):
    structure = portal.managed_by(portal.biggest_account("dgfip")["login"])[0]["identifiant"]
    root = tmp_path / "recordings"
    with pytest.MonkeyPatch.context() as env:
        account = portal.biggest_account("dgfip")
        env.setenv("DGFIP_LOGIN", account["login"])
        env.setenv("DGFIP_PASSWORD", account["password"])
        request = RunRequest(
            flow=_login_then_read(tmp_path), portal_url=portal.url, variables={"structure": structure},
            vault_path=tmp_path / "vault.json", record=RecordOptions(root=root),
        )  # fmt: skip
        run_in_browser(browser, prepare(request), request)
    assert not root.exists() or not any(root.iterdir())


def _login_then_read(tmp_path: Path) -> Path:
    common = PROJECT / "flows" / "common"
    flow = tmp_path / "login_then_read.yaml"
    flow.write_text(
        f"name: login_then_read\ninputs:\n  structure: {{}}\nsteps:\n"
        f"  - call: {{flow: {common / 'login.yaml'}}}\n  - call: {{flow: {common / 'read_technical_user.yaml'}}}\n",
        encoding="utf-8",
    )
    return flow


def test_the_procedure_command_regenerates_it(reset_recording: Recorded, tmp_path: Path):
    copy = tmp_path / reset_recording.folder.name
    shutil.copytree(reset_recording.folder, copy)
    original = (copy / "procedure.html").read_text(encoding="utf-8")
    (copy / "procedure.html").unlink()
    (copy / "procedure.pdf").unlink()

    done = robot("procedure", str(copy))

    assert done.returncode == 0, done.stderr
    assert (copy / "procedure.html").read_text(encoding="utf-8") == original
    assert (copy / "procedure.pdf").read_bytes()[:5] == b"%PDF-"
    not_a_recording = robot("procedure", str(tmp_path))
    assert not_a_recording.returncode == 2
    assert "steps.json : introuvable" in not_a_recording.stderr
