"""What a recording's folder holds, shared by the recording (which writes it) and the procedure (which reads it).

`steps.json` lists the run's steps; those whose command acts on a page (`PAGE_COMMANDS`) carry the
screen, the element's box and a screenshot: before acting, or after for the commands in `SHOT_AFTER`,
or when the row is found for those in `SHOT_INSIDE`. The trace, the video and the run's log lie beside it.
"""

from __future__ import annotations

PAGE_COMMANDS = {"goto", "expect_screen", "fill", "click", "read", "read_block", "read_table", "pick_row", "page_turn"}
SHOT_AFTER = {"goto", "expect_screen"}  # these show the page once it is there; the others before acting
SHOT_INSIDE = {"pick_row"}  # shot when the row is found, on the page that holds it (`on_row_found`)
STEPS_FILE = "steps.json"
TRACE_FILE = "trace.zip"
VIDEO_FILE = "video.webm"
LOG_FILE = "run.log"
