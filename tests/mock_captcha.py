"""--captcha-command for tests: `python tests/mock_captcha.py PORTAL_URL IMAGE` prints the mock's answer.

It plays the part of the service that has its own way to read a captcha; the robot never asks the mock.
"""

import json
import sys
import urllib.request
from pathlib import Path

if __name__ == "__main__":
    portal_url, image = sys.argv[1], Path(sys.argv[2])
    if not image.is_file() or image.stat().st_size == 0:
        sys.exit(f"no captcha image at {image}")
    with urllib.request.urlopen(portal_url.rstrip("/") + "/__mock__/captcha", timeout=10) as answer:
        print(json.load(answer)["answer"])
