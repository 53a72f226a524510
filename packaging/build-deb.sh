#!/usr/bin/env bash
# make deb: the kiosk as a Debian package, built from this checkout into dist/.
#
# The application gets its own virtual environment under /usr/lib/kiosk, made with Debian's
# /usr/bin/python3 and the exact versions of constraints.txt. It is built in a staging folder
# and moved into place by dpkg: the venv's scripts are rewritten to their installed paths, and
# no bytecode is shipped (postinst compiles it for the interpreter that will run it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)
ARCH=$(dpkg --print-architecture)
NAME=community-kiosk
STAGE=${STAGE:-build/deb/${NAME}_${VERSION}_${ARCH}}
OUT=${OUT:-dist}
VENV=/usr/lib/kiosk

changelog_version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/deb/changelog)
if [ "$changelog_version" != "$VERSION" ]; then
    echo "build-deb: packaging/deb/changelog is at $changelog_version, pyproject.toml at $VERSION" >&2
    exit 1
fi
for mo in kiosk/locale/*/LC_MESSAGES/kiosk.po; do
    if [ ! -f "${mo%.po}.mo" ] || [ "${mo%.po}.mo" -ot "$mo" ]; then
        echo "build-deb: ${mo%.po}.mo is missing or older than its .po: run make setup" >&2
        exit 1
    fi
done

rm -rf "$STAGE"
mkdir -p "$STAGE$VENV" "$OUT"
/usr/bin/python3 -m venv "$STAGE$VENV"
"$STAGE$VENV/bin/pip" install --quiet --no-compile --disable-pip-version-check \
    -c constraints.txt "$ROOT_DIR"
# The build-time tools have no place on a kiosk.
"$STAGE$VENV/bin/pip" uninstall --quiet --yes pip setuptools wheel >/dev/null 2>&1 || true
rm -f "$STAGE$VENV"/bin/activate* "$STAGE$VENV"/bin/pip*
find "$STAGE$VENV" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$STAGE$VENV" -name '*.pyc' -delete
# reportlab's Type 1 fonts carry Adobe font programs under terms Debian does not accept (its own
# python3-reportlab drops them too); the kiosk embeds WenQuanYi (TrueType) and needs none.
rm -f "$STAGE$VENV"/lib/python3*/site-packages/reportlab/fonts/*.pfb
# Shared objects: stripped of symbols and not executable, as Debian ships them.
find "$STAGE$VENV" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 \
    | xargs -0 -r strip --strip-unneeded --remove-section=.comment --remove-section=.note
find "$STAGE$VENV" -type f \( -name '*.so' -o -name '*.so.*' \) -exec chmod 0644 {} +
# Scripts name the interpreter where it will be, not where it was built.
grep -rlI --null "$ROOT_DIR/$STAGE" "$STAGE$VENV" | xargs -0 -r sed -i "s#$ROOT_DIR/$STAGE##g"
ln -sfn python3 "$STAGE$VENV/bin/python"
ln -sfn /usr/bin/python3 "$STAGE$VENV/bin/python3"

install -m 0755 packaging/deb/kiosk-session "$STAGE$VENV/kiosk-session"
install -d "$STAGE/usr/bin"
ln -s "$VENV/bin/kiosk" "$STAGE/usr/bin/kiosk"
install -D -m 0644 packaging/kiosk.toml "$STAGE/etc/kiosk/kiosk.toml"
install -D -m 0644 packaging/deb/kiosk.service "$STAGE/lib/systemd/system/kiosk.service"
# After 60-serial.rules, which sets ID_BUS for serial devices; before ModemManager's 77-mm-*.
install -D -m 0644 packaging/deb/61-community-kiosk.rules \
    "$STAGE/lib/udev/rules.d/61-community-kiosk.rules"
DOC=$STAGE/usr/share/doc/$NAME
install -D -m 0644 packaging/deb/copyright "$DOC/copyright"
install -m 0644 README.md "$DOC/README.md"
gzip -9n -c packaging/deb/changelog > "$DOC/changelog.gz"
install -D -m 0644 packaging/deb/lintian-overrides "$STAGE/usr/share/lintian/overrides/$NAME"

install -d -m 0755 "$STAGE/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "packaging/deb/$script" "$STAGE/DEBIAN/$script"
done
install -m 0644 packaging/deb/conffiles "$STAGE/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
PYTHON="python3 (>= 3.11.2), python3 (<< 3.12), libc6 (>= 2.36)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    -e "s/@PYTHON@/$PYTHON/" packaging/deb/control.in > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z \
    | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
find "$STAGE" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT/${NAME}_${VERSION}_${ARCH}.deb" >/dev/null
echo "$OUT/${NAME}_${VERSION}_${ARCH}.deb"
