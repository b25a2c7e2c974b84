"""`python -m robots.cli`: the same as `chorus-robot`."""

import sys

from robots.cli.main import main

sys.exit(main())
