# Two commands for a fresh machine (Python 3.11 and the package registries only):
#   make run    set up, then start a local network (hierophant + mock contemplant)
#   make test   set up, then lint (ruff) and run the whole test suite
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv

.PHONY: run test setup proto clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/hierophant-devnet

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

proto: $(VENV)/.installed
	$(VENV)/bin/python -m network_lib.proto.generate

clean:
	rm -rf $(VENV) var build *.egg-info
