# Set-up and everyday commands. `make run` and `make test` work on a fresh machine
# with Python 3.11+, make and Node.js/npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run test lint check migrate demo assets clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

assets: node_modules/.installed

run: $(BIN)/.installed assets
	$(BIN)/yiti migrate
	$(BIN)/yiti demo
	PORT=$(PORT) $(BIN)/yiti serve

test: $(BIN)/.installed assets
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check platform tests bench modules

check: $(BIN)/.installed
	$(BIN)/yiti check

clean:
	rm -rf $(VENV) node_modules instance
