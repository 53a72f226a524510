# The two commands: `make run` and `make test`. Everything else is for iterating and hardware.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Dates shown and printed use Asia/Shanghai, and so do the tests.
export TZ := Asia/Shanghai
export KIVY_NO_ARGS := 1

.PHONY: setup run test test-fast lint hwtest bench lock i18n clean deb test-deb

setup:  ## Debian packages, .venv and the kiosk command; a no-op the second time
	@scripts/setup.sh

run: setup  ## the kiosk in demo mode; without a display, one scripted session into out/
	@if [ -n "$$DISPLAY" ] && xdpyinfo >/dev/null 2>&1; then \
	  $(BIN)/kiosk --demo run; \
	else \
	  echo "run: no display here, so one scripted resident session runs under Xvfb into out/"; \
	  xvfb-run -a -s "-screen 0 1080x1920x24 -nolisten tcp" $(BIN)/kiosk --demo demo --out out; \
	fi

test: setup lint  ## every test but the hardware tier, with the real services the tests start
	$(BIN)/pytest

test-fast: setup  ## unit tests only (no Xvfb, pcscd or cupsd, no slow loops), for iterating
	$(BIN)/pytest -q -m "not hardware and not services and not slow"

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

hwtest: setup  ## the hardware tier against real devices: READER=URL and/or PRINTER=URL
	@if [ -z "$(READER)$(PRINTER)" ]; then \
	  echo "usage: make hwtest READER=URL [PRINTER=URL]   e.g. READER=ga467:///dev/ttyUSB0 PRINTER=cups://A4" >&2; \
	  exit 2; fi
	KIOSK_HW_READER="$(READER)" KIOSK_HW_PRINTER="$(PRINTER)" $(BIN)/pytest -m hardware \
	  $(if $(READER),,-k "not reader") $(if $(PRINTER),,-k "not printer")

deb: setup  ## the Debian package, into dist/ (packaging/build-deb.sh)
	@packaging/build-deb.sh

test-deb: setup  ## the package built, linted, installed into a clean Debian 12 root and started there
	@KIOSK_PACKAGE_LISTS=packaging/debian-packages-deb.txt scripts/setup.sh
	$(BIN)/pytest -p no:cacheprovider -m deb tests/packaging

bench: setup  ## measurements as ratios, side by side; writes benchmarks/results.json
	$(BIN)/python benchmarks/run.py

lock: setup  ## re-pin constraints.txt to what .venv has (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^community-kiosk' > constraints.txt

i18n: setup  ## re-extract the screens' words into kiosk/locale/kiosk.pot and merge into each .po
	$(BIN)/pybabel --quiet extract -F babel.cfg -k Text -k N_ --no-location --sort-output \
	  --project community-kiosk -o kiosk/locale/kiosk.pot screens kiosk devices offline_cache
	$(BIN)/pybabel --quiet update --no-fuzzy-matching -D kiosk -i kiosk/locale/kiosk.pot -d kiosk/locale
	@scripts/setup.sh >/dev/null  # compiles what changed

clean:  ## remove the venv and caches (not the Debian packages)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
