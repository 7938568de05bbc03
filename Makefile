# Two commands on a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH if there is one, otherwise a private copy installed from PyPI into .tools/
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
# The interpreter itself, not a shim (pyenv): with a shim path uv sees a different interpreter each time and
# rebuilds .venv at every `uv run` (dropping the compiled bytecode).
export UV_PYTHON := $(shell $(PYTHON) -c "import sys; print(sys.executable)")
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test test-quick lint ui portal db-upgrade clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"

# Bytecode compiled once at install: where PYTHONDONTWRITEBYTECODE is set (as on the CI machine) every process
# would otherwise compile every module it imports from source (about 2 s a process with Dagster).
setup: $(UV)
	$(UV) sync --locked --compile-bytecode
	$(UV) run --locked python -m compileall -q probation_returns orchestration assets expectations reports portal cli >/dev/null

demo: setup
	$(UV) run --locked returns demo

test: setup
	$(UV) run --locked pytest

# Without the slow tests (marked per file in tests/conftest.py: kills and reruns, the hostile corpus, Dagster runs of
# a quarter, the portal, the browsers): for a quick check while working; CI and `make test` run everything.
test-quick: setup
	$(UV) run --locked pytest -m "not slow"

# ruff (lint and format, [tool.ruff]) and the layer contracts in pyproject.toml ([tool.importlinter]): wiring
# over writers over the domain over the rules.
lint: setup
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked lint-imports

db-upgrade: setup
	$(UV) run --locked returns db upgrade

# The Dagster UI (webserver and daemon) on http://127.0.0.1:3000, with the demo's run history.
ui: setup
	$(UV) run --locked python -m orchestration.instance var/dagster
	DAGSTER_HOME=$(CURDIR)/var/dagster $(UV) run --locked dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The portal on http://127.0.0.1:8000 (gunicorn), over the demo's warehouse; `make demo` prints the accounts.
# Plain http on this machine only: cookies are sent without TLS. In production see the README.
portal: setup
	RETURNS_PORTAL_SECURE_COOKIES=0 RETURNS_OPEN_QUARTER=$${RETURNS_OPEN_QUARTER:-2017Q3} \
	RETURNS_PSEUDONYM_KEY=$${RETURNS_PSEUDONYM_KEY:-probation-returns-demo-key-not-for-real-data} \
	$(UV) run --locked returns serve --host 127.0.0.1 --port 8000

clean:
	rm -rf var .venv .tools
