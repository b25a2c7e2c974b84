"""Issue 13, point 1, and issue 19, point 4: the illustrated procedure of a structure on page 3 of
« Mes structures » shows each page turn, then page 3 with that row's pencil outlined; it prints each
section on one PDF page (or continued « (suite) »), badges apart, quotations unbroken, pictures at a
scale where the portal's text reads at 8 pt or more."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from pypdf import PdfReader
from pypdf.generic import ContentStream

from robots.jobs.replay.procedure import layout
from robots.jobs.replay.procedure_layout import PT_PER_CSS_PX, Picture
from robots.jobs.replay.procedure_sections import Item, sections
from robots.jobs.replay.recording import RecordOptions
from robots.jobs.run import RunRequest, prepare, run_in_browser
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


def sheets(recorded: Recorded):
    data = json.loads((recorded.folder / "steps.json").read_text(encoding="utf-8"))
    return layout(data, recorded.folder)


def pictures_of(recorded: Recorded) -> list[Picture]:
    return [c for sheet in sheets(recorded) for part in sheet for b in part.blocks for c in b.content
            if isinstance(c, Picture)]  # fmt: skip


def test_the_outline_is_on_that_row_and_off_the_pencil(page_three: Recorded):
    picked = next(s for s in page_three.steps if s["command"] == "pick_row")
    html = (page_three.folder / "procedure.html").read_text(encoding="utf-8")
    section = next(s for s in sections(page_three.steps) if any(i.step is picked for i in s.items))
    number = next(i.number for i in section.items if i.step is picked)
    picture = next(p for p in pictures_of(page_three) if str(number) in [b.text for b in p.badges]
                   and p.screenshot == picked["screenshot"])  # fmt: skip
    assert picked["badge"] in {"right", "left", "above", "below"}
    crop = picture.crop
    assert crop.w < 1280, "the picture is cropped to the area acted on"
    assert f'data-crop="{crop.x:.0f},{crop.y:.0f},{crop.w:.0f},{crop.h:.0f}"' in html
    (outline,) = picture.outlines
    # The outline sits 4 px outside the pencil on every side, the badge beside it.
    assert outline.x == pytest.approx(picked["box"]["x"] - 4 - crop.x)
    assert outline.w == pytest.approx(picked["box"]["width"] + 8)
    assert f"left:{outline.x * PT_PER_CSS_PX:.2f}pt" in html
    (badge,) = picture.badges
    assert not badge.rect.overlaps(outline) and badge.rect.inside(crop.w, crop.h)


def pdf_texts(recorded: Recorded) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(recorded.folder / "procedure.pdf")
    return reader, [page.extract_text() for page in reader.pages]


def test_each_section_prints_on_its_page_with_its_steps_and_pictures(page_three: Recorded):
    reader, texts = pdf_texts(page_three)
    laid = sheets(page_three)
    assert len(reader.pages) == len(laid), "the PDF has the pages the layout planned: nothing overflowed"
    for n, sheet in enumerate(laid):
        text = " ".join(unicodedata.normalize("NFKC", texts[n]).split())  # ligatures (ﬁ) as letters
        shown = [c for part in sheet for b in part.blocks for c in b.content]
        assert len(reader.pages[n].images) == sum(isinstance(c, Picture) for c in shown)
        for part in sheet:
            heading = " ".join(part.section.heading.split()) + (" (suite)" if part.continued else "")
            assert heading in text, (heading, text)
        for item in (c for c in shown if isinstance(c, Item)):
            assert " ".join(item.step["label"].split())[:40] in text, (item.step["label"], n)
    # The section of « Mes structures » is taller than a page: it goes on « (suite) », each step with its picture.
    parts = [p for sheet in laid for p in sheet if p.section.title == "Activités du gestionnaire"]
    assert len(parts) > 1 and all(p.continued for p in parts[1:])
    for part in parts:
        contents = [c for b in part.blocks for c in b.content]
        assert isinstance(contents[-1], Picture), "no step printed away from its picture"


def test_pictures_print_the_portal_text_at_8_pt_or_more(page_three: Recorded):
    reader, _ = pdf_texts(page_three)
    scales = []
    for page in reader.pages:
        images = {k: v.get_object() for k, v in page["/Resources"].get("/XObject", {}).items()}
        ctm, stack = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"q":
                stack.append(ctm)
            elif operator == b"Q":
                ctm = stack.pop()
            elif operator == b"cm":
                ctm = multiply([float(v) for v in operands], ctm)
            elif operator == b"Do" and images[operands[0]].get("/Subtype") == "/Image":
                # The screenshot's pixels are CSS px (1280 × 900 window): its width on paper per pixel.
                scales.append(abs(ctm[0]) / float(images[operands[0]]["/Width"]))
    assert scales and len(scales) == len(pictures_of(page_three))
    for scale in scales:
        assert 14 * scale >= 8, f"14 px text of the portal prints at {14 * scale:.1f} pt"


def multiply(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    return [a * n[0] + b * n[2], a * n[1] + b * n[3], c * n[0] + d * n[2], c * n[1] + d * n[3],
            e * n[0] + f * n[2] + n[4], e * n[1] + f * n[3] + n[5]]  # fmt: skip


def test_no_line_breaks_inside_a_quotation(page_three: Recorded):
    _, texts = pdf_texts(page_three)
    lines = [line.strip(" \u00a0") for text in texts for line in text.splitlines()]
    assert any("«\u00a0" in line for line in lines), "French quotes hold non-breaking spaces"
    for line in lines:
        assert not line.startswith(("»", ":", ";", ">")), line
        assert not line.endswith(("«", ">")), line
    assert any("(flèche «\u00a0>\u00a0»)" in " ".join(text.split(" ")).replace("\ufb02", "fl") for text in texts)


def test_badges_of_the_procedure_never_overlap(page_three: Recorded):
    for picture in pictures_of(page_three):
        for n, badge in enumerate(picture.badges):
            assert badge.rect.inside(picture.crop.w, picture.crop.h)
            for other in picture.badges[n + 1 :]:
                assert not badge.rect.overlaps(other.rect), (picture.screenshot, badge, other)


def test_same_named_screens_of_two_portals_have_distinct_headings(page_three: Recorded):
    headings = [s.heading for s in sections(page_three.steps)]
    assert len(headings) == len(set(headings)), headings
    assert "Écran « Accueil » — Chorus Pro" in headings
    assert "Écran « Accueil » — Portail de la Gestion Publique" in headings
