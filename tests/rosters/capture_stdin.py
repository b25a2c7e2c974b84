"""A delivery hook for the tests: writes what it received (stdin, argv, environment) to $CAPTURE_DIR.

Exits 1 without writing anything when $FAIL_FOR names the structure (a delivery that fails).
"""

import json
import os
import sys
from pathlib import Path

structure = os.environ.get("CHORUS_STRUCTURE", "")
if structure and structure == os.environ.get("FAIL_FOR"):
    print(f"push refused for {structure}", file=sys.stderr)
    sys.exit(1)
received = {"stdin": sys.stdin.read(), "argv": sys.argv, "env": dict(os.environ)}
target = Path(os.environ["CAPTURE_DIR"]) / f"{structure}.json"
target.write_text(json.dumps(received), encoding="utf-8")
