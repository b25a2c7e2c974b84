"""Where things go on the printed procedure (A4): pictures cropped and scaled, badges, pages.

Sizes are in CSS pixels of the screenshot (the page as the portal laid it out) and in points (pt)
on paper. The rule for pictures: the portal's text is 14 to 16 CSS px; one CSS px prints at
`PT_PER_CSS_PX` = 0.6 pt, so 14 px text prints at 8.4 pt and 16 px at 9.6 pt (8 pt is the least a
reader reads comfortably). The A4 text column is `CONTENT_W_PT` wide, so a picture shows at most
`MAX_CROP_W` CSS px of the page's width: elements further apart than that get a picture each.

Badges (the step's number beside its outline) never overlap: steps on the same element share one
badge (« 1, 3 »), and a badge that would cover another badge or outline takes another side, or the
nearest free spot. A section prints on one page; a section taller than a page goes on with its
heading repeated « (suite) ».
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from robots.jobs.replay.procedure_sections import Figure
from robots.jobs.replay.typography import unbreakable_words

MM = 72 / 25.4
PAGE_MARGIN_MM = (14, 12)  # top/bottom, left/right
CONTENT_W_PT = (210 - 2 * PAGE_MARGIN_MM[1]) * MM  # 527 pt
PAGE_H_PT = (297 - 2 * PAGE_MARGIN_MM[0]) * MM * 0.97  # 740 pt: a little kept for rounding in Chromium
PT_PER_CSS_PX = 0.6  # 14 CSS px of portal text → 8.4 pt on paper
MAX_CROP_W = int(CONTENT_W_PT / PT_PER_CSS_PX) - 4  # 874 CSS px (the picture's border included)
BOXLESS_H = 640  # a screen shown without an element to act on: its upper part, where its title is
CROP_MARGIN = (140, 110)  # CSS px kept around the elements acted on (x, y), when the width allows
CROP_MIN = (760, 360)  # no smaller: the reader must recognise where on the page it is
OUTLINE_GAP = 4  # px between an element and its outline, so the outline never covers the element
SAME_ELEMENT = 3  # px: two boxes this close are the same element (one badge for both steps)
BADGE_H = 24  # px: prints at 14.4 pt, a 9 pt number in it
BADGE_SPACE = 4  # px between a badge and its outline, and between two badges
CHAR_EM = 0.6  # width of an average character of DejaVu Sans, in em, rounded up (estimates of text height)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Rect, space: float = 0) -> bool:
        return not (
            self.right + space <= other.x
            or other.right + space <= self.x
            or self.bottom + space <= other.y
            or other.bottom + space <= self.y
        )

    def inside(self, width: float, height: float) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= width and self.bottom <= height


@dataclass
class Badge:
    text: str  # « 2 », or « 1, 3 » for steps on the same element
    rect: Rect  # in CSS px of the picture (its crop's top left is 0, 0)


@dataclass
class Picture:
    """One printed picture: the part `crop` of the screenshot, its outlines and badges (crop coordinates)."""

    screenshot: str
    crop: Rect
    image_w: float  # the screenshot's width in CSS px
    outlines: list[Rect] = field(default_factory=list)
    badges: list[Badge] = field(default_factory=list)

    @property
    def width_pt(self) -> float:
        return self.crop.w * PT_PER_CSS_PX

    @property
    def height_pt(self) -> float:
        return self.crop.h * PT_PER_CSS_PX


@dataclass
class _Mark:
    numbers: list[int]
    box: Rect
    side: str


def pictures(figure: Figure, viewport: dict[str, int]) -> list[Picture]:
    """The figure as printed: one picture, or one per group of elements too far apart to fit one."""
    width, height = viewport["width"], viewport["height"]
    marks = _marks(figure)
    if not marks:
        return [Picture(figure.screenshot, _boxless_crop(width, height), width)]
    result = []
    for group in _groups(marks):
        crop = crop_area([m.box for m in group], [_rect(c) for c in figure.context], width, height)
        outlines = [_outline(m.box, crop) for m in group]
        picture = Picture(figure.screenshot, crop, width, outlines)
        picture.badges = place_badges([(m, o) for m, o in zip(group, outlines, strict=True)], crop)
        result.append(picture)
    return result


def _rect(box: dict[str, Any]) -> Rect:
    return Rect(float(box["x"]), float(box["y"]), float(box["width"]), float(box["height"]))


def _marks(figure: Figure) -> list[_Mark]:
    """The elements outlined, each once: the steps acting on the same element share its mark."""
    marks: list[_Mark] = []
    for number, box in figure.boxes:
        rect = _rect(box)
        same = next((m for m in marks if _same(m.box, rect)), None)
        if same is None:
            marks.append(_Mark([number], rect, str(box.get("badge") or "")))
        elif number not in same.numbers:
            same.numbers.append(number)
    return marks


def _same(a: Rect, b: Rect) -> bool:
    return all(abs(p - q) <= SAME_ELEMENT for p, q in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h)))


def _groups(marks: list[_Mark]) -> list[list[_Mark]]:
    """Marks grouped, in step order, so that each group's width fits one picture."""
    groups: list[list[_Mark]] = []
    for mark in sorted(marks, key=lambda m: m.numbers[0]):
        for group in groups:
            left = min(m.box.x for m in [*group, mark])
            right = max(m.box.right for m in [*group, mark])
            if right - left + 2 * (BADGE_H * 3) <= MAX_CROP_W:
                group.append(mark)
                break
        else:
            groups.append([mark])
    return groups


def _boxless_crop(width: float, height: float) -> Rect:
    w = min(float(width), MAX_CROP_W)
    return Rect((width - w) / 2, 0, w, min(float(height), BOXLESS_H))


def crop_area(boxes: list[Rect], context: list[Rect], width: float, height: float) -> Rect:
    """The part of the screenshot to show: the elements acted on, what is around them, within limits.

    Boxes are clipped to the screenshot first (a table taller than the window was partly shot). The
    context (the row, the dialog) is shown as far as the picture's width allows.
    """
    boxes = [b for b in (_clip(b, width, height) for b in boxes) if b.w > 0 and b.h > 0]
    if not boxes:
        return _boxless_crop(width, height)
    limits = (MAX_CROP_W, max(float(height), CROP_MIN[1]))
    shown = [c for c in (_clip(c, width, height) for c in context) if c.w > 0 and c.h > 0]
    spans = []
    for axis in (0, 1):
        core = (min(_lo(b, axis) for b in boxes), max(_hi(b, axis) for b in boxes))
        start, end = _widen(*core, CROP_MARGIN[axis], limits[axis])
        for c in shown:
            start, end = _with_context((start, end), (_lo(c, axis) - 10, _hi(c, axis) + 10), core, limits[axis])
        start, end = _span(start, end, min(CROP_MIN[axis], limits[axis]), (width, height)[axis])
        spans.append((start, end))
    (left, right), (top, bottom) = spans
    return Rect(left, top, right - left, bottom - top)


def _with_context(
    span: tuple[float, float], context: tuple[float, float], core: tuple[float, float], limit: float
) -> tuple[float, float]:
    """`span` widened to show the context (the row, the dialog) as far as `limit` allows. When it cannot
    all be shown, the elements keep room for their badge and the rest goes to the context's wider side
    (the row's name, left of its pencil)."""
    lo, hi = min(span[0], context[0]), max(span[1], context[1])
    if hi - lo <= limit:
        return lo, hi
    room = 2 * BADGE_H + 2 * BADGE_SPACE + OUTLINE_GAP
    keep = (core[0] - room, core[1] + room)
    if keep[1] - keep[0] >= limit:
        return span
    if core[0] - lo >= hi - core[1]:
        return max(lo, keep[1] - limit), keep[1]
    return keep[0], min(hi, keep[0] + limit)


def _lo(rect: Rect, axis: int) -> float:
    return rect.x if axis == 0 else rect.y


def _hi(rect: Rect, axis: int) -> float:
    return rect.right if axis == 0 else rect.bottom


def _widen(start: float, end: float, margin: float, limit: float) -> tuple[float, float]:
    """[start, end] with `margin` on each side, less when that would exceed `limit` (the start stays shown)."""
    if end - start >= limit:
        return start - 10, start - 10 + limit
    margin = min(margin, (limit - (end - start)) / 2)
    return start - margin, end + margin


def _clip(box: Rect, width: float, height: float) -> Rect:
    x, y = max(0.0, box.x), max(0.0, box.y)
    right, bottom = min(float(width), box.right), min(float(height), box.bottom)
    return Rect(x, y, right - x, bottom - y)


def _span(start: float, end: float, least: float, limit: float) -> tuple[float, float]:
    """[start, end] widened to `least` around its middle, then moved (not shrunk) inside [0, limit]."""
    if end - start < least:
        middle = (start + end) / 2
        start, end = middle - least / 2, middle + least / 2
    if start < 0:
        start, end = 0, end - start
    if end > limit:
        start, end = max(0.0, start - (end - limit)), limit
    return start, end


def _outline(box: Rect, crop: Rect) -> Rect:
    gap = OUTLINE_GAP
    return Rect(box.x - gap - crop.x, box.y - gap - crop.y, box.w + 2 * gap, box.h + 2 * gap)


def badge_width(text: str) -> float:
    return max(float(BADGE_H), 12 + 10 * len(text))


def place_badges(marks: list[tuple[_Mark, Rect]], crop: Rect) -> list[Badge]:
    """A badge beside each outline, the side the page left free first, never over another badge."""
    placed: list[Badge] = []
    outlines = [o for _, o in marks]
    for mark, outline in marks:
        text = ", ".join(str(n) for n in sorted(mark.numbers))
        size = (badge_width(text), float(BADGE_H))
        spot = _free_spot(outline, size, mark.side, crop, placed, outlines)
        placed.append(Badge(text, spot))
    return placed


def _free_spot(
    outline: Rect, size: tuple[float, float], side: str, crop: Rect, placed: list[Badge], outlines: list[Rect]
) -> Rect:
    sides = _sides(outline, size)
    order = [side] if side in sides else []
    order += [s for s in ("right", "left", "above", "below") if s not in order]
    candidates = [sides[s] for s in order] + list(_around(outline, size))
    for avoid_outlines in (True, False):
        for spot in candidates:
            if not spot.inside(crop.w, crop.h):
                continue
            if any(spot.overlaps(b.rect, BADGE_SPACE) for b in placed):
                continue
            if avoid_outlines and any(spot.overlaps(o) for o in outlines):
                continue
            return spot
    # No free spot in the picture (it cannot happen with pictures this large): after the last badge.
    last = max((b.rect for b in placed), key=lambda r: r.right, default=sides["right"])
    return Rect(last.right + BADGE_SPACE, last.y, size[0], size[1])


def _sides(outline: Rect, size: tuple[float, float]) -> dict[str, Rect]:
    w, h = size
    middle = outline.y + outline.h / 2 - h / 2
    return {
        "right": Rect(outline.right + BADGE_SPACE, middle, w, h),
        "left": Rect(outline.x - BADGE_SPACE - w, middle, w, h),
        "above": Rect(outline.x, outline.y - BADGE_SPACE - h, w, h),
        "below": Rect(outline.x, outline.bottom + BADGE_SPACE, w, h),
    }


def _around(outline: Rect, size: tuple[float, float]):  # type: ignore[no-untyped-def]
    """Spots further and further from the outline's right, then left (rings of badge-sized steps)."""
    w, h = size
    step = h + BADGE_SPACE
    for ring in range(1, 12):
        for dy in sorted(range(-ring, ring + 1), key=abs):
            yield Rect(outline.right + BADGE_SPACE + (ring - 1) * step, outline.y + dy * step, w, h)
            yield Rect(outline.x - BADGE_SPACE - w - (ring - 1) * step, outline.y + dy * step, w, h)


# ---------------------------------------------------------------- pages

T = TypeVar("T")


@dataclass
class Block:
    """A piece of a section that is not split across pages: one step, or one picture."""

    height: float  # pt
    content: Any


@dataclass
class Placed:
    """The part of a section on one page."""

    section: Any
    continued: bool  # its heading says « (suite) »
    blocks: list[Block] = field(default_factory=list)


def paginate(sections: list[tuple[Any, float, list[Block]]], first_page_used: float) -> list[list[Placed]]:
    """Pages of sections: (section, heading height, blocks) in order; `first_page_used`: the title's height."""
    pages: list[list[Placed]] = [[]]
    used = first_page_used
    for section, heading, blocks in sections:
        total = heading + sum(b.height for b in blocks)
        first = blocks[0].height if blocks else 0
        if total > PAGE_H_PT - used and (total <= PAGE_H_PT or heading + first > PAGE_H_PT - used) and pages[-1]:
            pages.append([])
            used = 0.0
        part = Placed(section, False)
        pages[-1].append(part)
        used += heading
        for block in blocks:
            if block.height > PAGE_H_PT - used and part.blocks:
                pages.append([])
                part = Placed(section, True)
                pages[-1].append(part)
                used = heading
            part.blocks.append(block)
            used += block.height
    return [page for page in pages if page]


def text_height(text: str, width_pt: float, size_pt: float, line_pt: float) -> float:
    """Height of `text` wrapped at spaces it may break at, estimated with a generous character width."""
    per_line = max(1, int(width_pt / (size_pt * CHAR_EM)))
    lines, length = 1, 0
    for word in unbreakable_words(text):
        if length and length + 1 + len(word) > per_line:
            lines += 1
            length = len(word)
        else:
            length += (1 if length else 0) + len(word)
        while length > per_line:  # a word longer than a line (a URL) wraps anywhere
            lines += 1
            length -= per_line
    return lines * line_pt
