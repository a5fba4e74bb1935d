# Two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test venv lint bench bench-load load-deps browser-deps mail-deps mailbox clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian's chromium for the browser tests (never a downloaded browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Debian's Dovecot for the e-mail tests and the demo mailbox. Installed only (Debian's
# policy-rc.d or our own keeps the system service from starting); the tests start their own
# instance under var/ on 127.0.0.1 (channels/fakes/mailserver.py), never the system one.
mail-deps:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || { \
		echo "installing Debian's dovecot-imapd for the e-mail tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo $(SUDO_FLAGS) ); \
		$$SUDO apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive \
			$$SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null; }

# A local mailbox for trying the e-mail channel by hand (Ctrl-C stops it).
mailbox: venv mail-deps
	$(PY) -m channels.fakes.mailserver

# The demo's mailbox is Debian's Dovecot: tried here without asking for a password (sudo -n);
# when it cannot be installed, the demo still runs and hands mail straight to the intake
# (gateway/dev/demo_mail.py), so `make run` never fails for it.
run: venv
	@$(MAKE) --no-print-directory mail-deps SUDO_FLAGS=-n 2>/dev/null || \
		echo "dovecot not installed: the demo's mail skips IMAP (make mail-deps installs it)"
	mkdir -p var
	$(VENV)/bin/lapor-gateway migrate
	$(VENV)/bin/lapor-gateway seed-demo
	$(VENV)/bin/lapor-gateway serve

test: venv browser-deps mail-deps
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: venv load-deps
	$(PY) -m bench

# The load benchmark alone (issue 12; bench/load/README.md); QUICK=1 for the smoke run.
bench-load: venv load-deps
	$(PY) -m bench load $(if $(QUICK),--quick)

# Debian's wrk drives the maximum-rate load; py-spy (PyPI) profiles the gateway under it.
load-deps: venv
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing Debian's wrk for the load benchmark"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	@test -x $(VENV)/bin/py-spy || $(PY) -m pip install --quiet 'py-spy>=0.3.14'

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
