# Portal: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
VENDOR := static/vendor
# `make run PORT=5001` serves on another port; links in QR codes and e-mails follow it
# unless PORTAL_BASE_URL is set in the environment.
HOST ?= 127.0.0.1
PORT ?= 5000
RUN_ENV := PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://$(HOST):$(PORT)}
# The message catalogs (portal/translations/<language>/LC_MESSAGES/messages.po) are
# committed; their compiled .mo files are built here, never committed.
TRANSLATIONS := portal/translations
CATALOGS := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: run setup serve worker test test-fast test-sqlite test-postgres lint bench screenshots browser translations language clean

run: setup
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) seed demo --if-empty
	$(RUN_ENV) $(FLASK) run --host $(HOST) --port $(PORT)

setup: $(VENV)/.installed $(VENDOR)/.installed $(COMPILED)

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -l $* -i $< -o $@

# After changing text: extract every marked message, merge it into each language's catalog
# (new ones untranslated, until a translator fills them in), and compile. README
# "Languages" has the whole routine and how to add a language.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 -k _l \
		--ignore-dirs ".*" --no-location --sort-output --project Portal --copyright-holder "Portal" \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

# A new language's catalog (README "Adding a language"): make language CODE=de
language: $(VENV)/.installed
	@test -n "$(CODE)" || { echo "usage: make language CODE=<language code>"; exit 2; }
	$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $(CODE)

# Front-end libraries come from the npm registry, pinned in package-lock.json,
# and are served by Portal itself from static/vendor/ (never from a CDN).
$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/htmx $(VENDOR)/pico $(VENDOR)/chartjs
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/
	touch $@

# Debian's Chromium for the browser tests; installed when missing and we are root.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Chromium from Debian for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing and we are not root: browser tests will be skipped"; fi
	@# pdftoppm rasterises certificates so the tests can scan their QR codes.
	@if command -v pdftoppm >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing poppler-utils from Debian for the certificate QR tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	else echo "pdftoppm is missing and we are not root: certificate QR tests will be skipped"; fi
	@# A colour emoji font, so names with emoji print on certificates (names with characters
	@# no installed font has are refused at registration; see portal/fonts.py).
	@if fc-list ':charset=1f3c6' family 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing fonts-noto-color-emoji from Debian for names with emoji on certificates"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji >/dev/null; \
	else echo "No emoji font and we are not root: names with emoji will be refused"; fi

serve: setup
	$(FLASK) db upgrade
	PORTAL_ENV=production $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

worker: setup
	$(FLASK) jobs worker

test: $(VENV)/.dev-installed $(VENDOR)/.installed browser $(COMPILED)
	$(BIN)/python -m tests.run

# The inner loop: SQLite only, without the browser journeys and the tests marked slow.
test-fast: $(VENV)/.dev-installed $(VENDOR)/.installed $(COMPILED)
	PORTAL_TEST_DATABASE=sqlite $(BIN)/pytest -q -m "not slow and not e2e"

test-sqlite: $(VENV)/.dev-installed $(VENDOR)/.installed $(COMPILED)
	PORTAL_TEST_DATABASE=sqlite $(BIN)/pytest

test-postgres: $(VENV)/.dev-installed $(VENDOR)/.installed $(COMPILED)
	PORTAL_TEST_DATABASE=postgresql $(BIN)/pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check portal tests bench migrations wsgi.py

bench: $(VENV)/.dev-installed $(VENDOR)/.installed $(COMPILED)
	$(BIN)/python -m bench.run

screenshots: $(VENV)/.dev-installed $(VENDOR)/.installed browser $(COMPILED)
	PORTAL_SCREENSHOTS=1 $(BIN)/pytest tests/e2e -q

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .ruff_cache
