"""Issue 19, point 4, without a browser: badges of steps on one element merge, badges of neighbours
move apart, French quotations never break, a section taller than a page goes on « (suite) »."""

from __future__ import annotations

from robots.jobs.replay.procedure_layout import MAX_CROP_W, PAGE_H_PT, PT_PER_CSS_PX, Block, paginate, pictures
from robots.jobs.replay.procedure_sections import Figure
from robots.jobs.replay.typography import NBSP, html_text, unbreakable_words

VIEWPORT = {"width": 1280, "height": 900}


def box(x: float, y: float, width: float = 120, height: float = 30, badge: str = "right") -> dict:
    return {"x": x, "y": y, "width": width, "height": height, "badge": badge}


def test_steps_on_the_same_element_share_one_badge():
    figure = Figure("01.png", [0, 0], "u", boxes=[(1, box(400, 300)), (2, box(400, 350)), (3, box(401, 300.5))])
    (picture,) = pictures(figure, VIEWPORT)
    assert sorted(b.text for b in picture.badges) == ["1, 3", "2"]
    assert len(picture.outlines) == 2


def test_badges_of_elements_close_together_never_overlap():
    # Three buttons in a row, 10 px apart: every badge « right » would cover its neighbour.
    boxes = [(n + 1, box(300 + n * 40, 400, width=30, height=24)) for n in range(3)]
    boxes += [(4, box(300, 430, width=200, height=24, badge="above"))]
    (picture,) = pictures(Figure("01.png", [0, 0], "u", boxes=boxes), VIEWPORT)
    badges = [b.rect for b in picture.badges]
    assert len(badges) == 4
    for n, badge in enumerate(badges):
        assert badge.inside(picture.crop.w, picture.crop.h)
        assert not any(badge.overlaps(o) for o in picture.outlines), "a badge never covers an outline"
        assert not any(badge.overlaps(other) for other in badges[n + 1 :])


def test_elements_too_far_apart_get_a_picture_each_at_a_readable_scale():
    figure = Figure("01.png", [0, 0], "u", boxes=[(1, box(20, 100)), (2, box(1140, 700))])
    shown = pictures(figure, VIEWPORT)
    assert len(shown) == 2
    for picture in shown:
        assert picture.crop.w <= MAX_CROP_W and 14 * PT_PER_CSS_PX >= 8
        assert picture.width_pt <= 527


def test_quotations_and_chains_hold_together():
    text = "Dans « Mes structures », cliquez : menu « Activités > Mes structures » !"
    printed = html_text(text)
    assert f"«{NBSP}Mes structures{NBSP}»" in printed and f"{NBSP}:" in printed and f"{NBSP}!" in printed
    assert '<span class="q">«' in printed, "a short quotation is one unbreakable piece"
    words = unbreakable_words(text)
    assert f"«{NBSP}Activités{NBSP}>{NBSP}Mes{NBSP}structures{NBSP}»{NBSP}!" in words
    assert not any(w.startswith("»") or w.endswith("«") for w in words)


def test_a_section_taller_than_a_page_goes_on_with_its_heading_repeated():
    tall = [Block(PAGE_H_PT / 3, [n]) for n in range(5)]
    pages = paginate([("intro", 30, [Block(200, ["a"])]), ("tall", 30, tall), ("short", 30, [Block(100, ["z"])])], 50)
    parts = [(p.section, p.continued) for page in pages for p in page]
    assert parts[:2] == [("intro", False), ("tall", False)]
    assert all(continued for section, continued in parts[2:-1] if section == "tall")
    for page in pages:
        assert sum(30 + sum(b.height for b in p.blocks) for p in page) <= PAGE_H_PT + 50


def test_a_section_that_does_not_fit_starts_a_new_page():
    pages = paginate([("a", 30, [Block(500, [1])]), ("b", 30, [Block(300, [2]), Block(100, [3])])], 0)
    assert [[(p.section, p.continued) for p in page] for page in pages] == [[("a", False)], [("b", False)]]
