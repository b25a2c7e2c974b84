# The whole set-up is here: `make demo` and `make test` work on a fresh Debian machine.
VENV := .venv
PYTHON := $(VENV)/bin/python
ROBOT := $(VENV)/bin/chorus-robot
STAMP := $(VENV)/.installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench browser imap-server keepassxc clean image

$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -e '.[test]'
	touch $(STAMP)

browser: $(STAMP)
	$(PYTHON) -m robots.browser.launch --ensure

demo: browser
	$(ROBOT) demo

# A real IMAP server for the mailbox and account tests: Debian's Dovecot, started privately by the tests (never as a service);
# openssl makes its test certificate.
imap-server:
	@{ test -x /usr/sbin/dovecot && command -v openssl >/dev/null; } || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q dovecot-imapd openssl; }

# KeePassXC's command line: the tests read every KeePass vault the robot writes back with it (Debian's keepassxc).
keepassxc:
	@command -v keepassxc-cli >/dev/null || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends keepassxc; }

# Two pytest workers (the machine's two cores), each a session with its own mock portal, Chromium and Dovecot;
# a test module stays on one worker, so its module fixtures (a whole night of renewals) run once.
test: browser imap-server keepassxc
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q -n 2 --dist loadscope

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: browser
	$(PYTHON) bench/renew_throughput.py

# The nightly job's container image (Containerfile), with podman or docker, whichever exists.
image:
	@engine=$$(command -v podman || command -v docker); \
	if [ -z "$$engine" ]; then echo "make image needs podman or docker" >&2; exit 1; fi; \
	$$engine build -f Containerfile -t chorus-robot:latest .

clean:
	rm -rf $(VENV) recordings/*/ var/ .pytest_cache
