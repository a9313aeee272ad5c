# Two commands: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: install run test lint migrate seed screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalls only when requirements.txt changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Local development settings: DEBUG on and a random secret key, never committed.
.env: | $(BIN)/python
	$(BIN)/python -c "import secrets, pathlib; t = pathlib.Path('.env.example').read_text(); \
	pathlib.Path('.env').write_text(t.replace('DJANGO_SECRET_KEY=change-me', 'DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50)))"

install: $(VENV)/.installed .env

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# The web server and the worker of big imports (Procfile), together; Ctrl-C stops both.
run: seed
	@echo ""
	@echo "  Admin: http://127.0.0.1:$(PORT)/admin/"
	@echo ""
	$(BIN)/honcho --procfile Procfile start --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	.ci/ensure-gettext
	$(BIN)/python manage.py check_translations
	.ci/ensure-chromium
	$(BIN)/pytest

# Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: install
	.ci/ensure-chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser
