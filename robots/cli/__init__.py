"""The command line: the parser (`main`), one module per command, exit codes."""

from robots.cli.main import main

__all__ = ["main"]
