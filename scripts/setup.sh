#!/usr/bin/env bash
# make setup: everything the kiosk and its tests need, idempotently.
#   1. Debian packages listed in packaging/debian-packages.txt (only those missing);
#      as a non-root user it prints the exact sudo line and stops.
#   2. .venv/ built with Debian's /usr/bin/python3 (the interpreter the Debian package uses),
#      the project installed editable with the versions pinned in constraints.txt.
# A second run checks and says so in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${KIOSK_PYTHON:-/usr/bin/python3}
VENV=.venv
STAMP=$VENV/.kiosk-setup
did=()

# KIOSK_PACKAGE_LISTS: more lists (make test-deb adds packaging/debian-packages-deb.txt).
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' packaging/debian-packages.txt \
    ${KIOSK_PACKAGE_LISTS:-})
missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: these Debian packages are missing: ${missing[*]}" >&2
        echo "setup: install them with:" >&2
        echo "    sudo sh -c '$line'" >&2
        echo "then run make setup again." >&2
        exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
    # --no-install-recommends matters: pcsc-tools would otherwise pull in GTK.
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    did+=("Debian packages")
fi

want_stamp=$(cat pyproject.toml constraints.txt "$0" | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup: creating $VENV with $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    did+=("virtual environment")
fi
have_stamp=$(cat "$STAMP" 2>/dev/null || true)
if [ "$have_stamp" != "$want_stamp" ] || [ ! -x "$VENV/bin/kiosk" ]; then
    echo "setup: installing the project and its pinned dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade "pip>=24" 
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e '.[dev]'
    echo "$want_stamp" > "$STAMP"
    did+=("Python packages")
fi

# The screens' translations: .po (written by people, in git) compiled to .mo (built here).
for po in kiosk/locale/*/LC_MESSAGES/kiosk.po; do
    if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
        "$VENV/bin/pybabel" --quiet compile -D kiosk -d kiosk/locale
        did+=("translations")
        break
    fi
done

if [ ${#did[@]} -eq 0 ]; then
    echo "setup: nothing to do (Debian packages, $VENV and the kiosk command are in place)"
else
    echo "setup: done (${did[*]}); the kiosk command is $VENV/bin/kiosk"
fi
