# The two commands the README promises: `make demo` and `make test`.
# Both build .venv from pyproject.toml on a fresh machine (Python >= 3.11 on PATH as python3).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Exact versions known to work together (see docs/dependencies.md); pyproject.toml keeps ranges.
CONSTRAINTS := constraints.txt

.PHONY: install test demo bench clean

# uv (pinned in constraints.txt) installs the same pinned set as pip would, in about 40% of
# the time on a fresh machine (docs/dependencies.md); --compile-bytecode does what pip does by
# default, so that no process compiles the packages' sources again at import.
UV_INSTALL = $(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -c $(CONSTRAINTS)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) uv
	$(UV_INSTALL) -e '.[dev,native]'
	touch $(STAMP)

# The detection engine compiled with mypyc (vigil/detect/native.py; about a minute), rebuilt when
# a detection source changes: until then the edited source runs as Python. VIGIL_NATIVE=0 skips
# the build (and the use) of the compiled modules.
NATIVE := build/native/manifest.json
$(NATIVE): $(STAMP) $(wildcard vigil/detect/*.py)
	VIGIL_NATIVE=0 $(VENV)/bin/vigil native build

ifeq ($(VIGIL_NATIVE),0)
install: $(STAMP)
else
install: $(STAMP) $(NATIVE)
endif

# Three serial streams (pytest-xdist): tests marked `sleeps` in one, `waits` in another, the rest in
# the third (docs/testing.md). PYTEST_ARGS picks tests or adds options, e.g.
# PYTEST_ARGS="tests/detect -x"; "-n 0" runs serially.
TEST_STREAMS := -n 3 --dist loadgroup

test: install
	$(PY) -m pytest $(TEST_STREAMS) $(PYTEST_ARGS)

demo: install
	$(PY) -m vigil.demo

bench: install
	$(UV_INSTALL) -e '.[dev,bench]'
	$(PY) bench/detect.py
	$(PY) bench/thirdparty_eval.py
	$(PY) bench/thirdparty_secrets_eval.py
	$(PY) bench/extract.py
	$(PY) bench/scan.py
	$(PY) bench/incidents.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
