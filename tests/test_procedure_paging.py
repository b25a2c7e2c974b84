"""Issue 13, point 1: the illustrated procedure of a structure on page 3 of « Mes structures » shows
each page turn, then page 3 with that row's pencil outlined, each section on one PDF page."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from pypdf import PdfReader

from robots.replay.procedure import crop_area, sections
from robots.replay.recording import RecordOptions
from robots.run_flow import RunRequest, prepare, run_in_browser
from tests.conftest import PROJECT, ROWS_PER_PAGE, Portal

COMMON = PROJECT / "flows" / "common"


@dataclass
class Recorded:
    folder: Path
    steps: list[dict]
    structure: dict


@pytest.fixture(scope="module")
def page_three(browser: Browser, mock_server: str, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    portal = Portal(mock_server)
    portal.reset()
    account = portal.biggest_account("dgfip")
    managed = portal.managed_by(account["login"])
    assert len(managed) > 2 * ROWS_PER_PAGE, "the demo data must give this account a third page"
    structure = managed[2 * ROWS_PER_PAGE]
    root = tmp_path_factory.mktemp("page3")
    flow = root / "open.yaml"
    flow.write_text(
        f"name: open\ntitle: Ouvrir une structure\ninputs:\n  structure: {{}}\nsteps:\n"
        f"  - call: {{flow: {COMMON / 'login.yaml'}}}\n  - call: {{flow: {COMMON / 'open_structure.yaml'}}}\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DGFIP_LOGIN", account["login"])
        env.setenv("DGFIP_PASSWORD", account["password"])
        request = RunRequest(
            flow=flow, portal_url=portal.url, variables={"structure": structure["identifiant"]},
            vault_path=root / "vault.json", record=RecordOptions(frozenset({"screenshots"}), root / "rec"),
        )  # fmt: skip
        run_in_browser(browser, prepare(request), request)
    (folder,) = (root / "rec").iterdir()
    steps = json.loads((folder / "steps.json").read_text(encoding="utf-8"))["steps"]
    return Recorded(folder, steps, structure)


def test_each_page_turn_is_a_step_then_the_row_on_page_three(page_three: Recorded):
    commands = [s["command"] for s in page_three.steps]
    picked = commands.index("pick_row")
    turns = [s for s in page_three.steps if s["command"] == "page_turn"]
    assert [t["table_page"] for t in turns] == [1, 2]
    assert commands[picked - 2 : picked] == ["page_turn", "page_turn"], "the page turns come before the row"
    for turn in turns:
        assert turn["screenshot"] and (page_three.folder / turn["screenshot"]).is_file()
        assert turn["box"]["width"] < 60, "the « page suivante » arrow is outlined, not the table"
    row = page_three.steps[picked]
    assert row["table_page"] == 3
    assert page_three.structure["identifiant"] in row["label"]
    assert page_three.structure["raison_sociale"] in row["label"]
    assert row["row"]["Identifiant structure"] == page_three.structure["identifiant"]
    assert row["box"]["width"] < 120, "the row's pencil is outlined, not the whole table"
    assert row["screenshot"] not in {t["screenshot"] for t in turns}


def test_the_outline_is_on_that_row_and_off_the_pencil(page_three: Recorded):
    picked = next(s for s in page_three.steps if s["command"] == "pick_row")
    html = (page_three.folder / "procedure.html").read_text(encoding="utf-8")
    section = next(s for s in sections(page_three.steps) if any(i.step is picked for i in s.items))
    number = next(i.number for i in section.items if i.step is picked)
    figure = next(f for f in section.figures if f.screenshot == picked["screenshot"])
    assert (number, {**picked["box"], "badge": picked.get("badge") or ""}) in figure.boxes
    assert picked["badge"] in {"right", "left", "above", "below"}
    x, y, w, h = crop_area([b for _, b in figure.boxes] + figure.context, 1280, 900)
    assert w < 1280 or h < 900, "the picture is cropped to the area acted on"
    assert f'data-crop="{x:.0f},{y:.0f},{w:.0f},{h:.0f}"' in html
    # The outline sits 4 px outside the pencil on every side.
    left = (picked["box"]["x"] - 4 - x) / w * 100
    assert f"left:{left:.3f}%" in html


def test_the_pdf_keeps_each_section_on_one_page(page_three: Recorded):
    reader = PdfReader(page_three.folder / "procedure.pdf")
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    identifiant = page_three.structure["identifiant"]
    holding = [n for n, t in enumerate(texts) if identifiant in t and "page 3 du tableau" in t]
    assert len(holding) == 1, texts
    page = reader.pages[holding[0]]
    assert "Écran « Activités du gestionnaire »" in texts[holding[0]]
    assert len(page.images) >= 1, "the screenshot is on the same page as its step"
    for n, text in enumerate(texts):
        for heading in re.findall(r"Écran « [^»]+ »", text):
            assert reader.pages[n].images, f"« {heading} » printed away from its screenshot"


def test_same_named_screens_of_two_portals_have_distinct_headings(page_three: Recorded):
    headings = [s.heading for s in sections(page_three.steps)]
    assert len(headings) == len(set(headings)), headings
    assert "Écran « Accueil » — Chorus Pro" in headings
    assert "Écran « Accueil » — Portail de la Gestion Publique" in headings
