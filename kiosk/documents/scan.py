"""Reading the QR back from a certificate PDF the way a checker would: render the page and
decode the picture (pdftoppm, zbarimg). The PDF's text layer is never trusted: anyone can edit
text, nobody can forge the signature inside the QR."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


class ScanError(Exception):
    pass


def payload_from_pdf(pdf: Path, dpi: int = 200) -> str:
    if not pdf.is_file():
        raise ScanError(f"{pdf} is neither a certificate file nor a certificate code (KV1....)")
    for tool, package in (("pdftoppm", "poppler-utils"), ("zbarimg", "zbar-tools")):
        if shutil.which(tool) is None:
            raise ScanError(f"{tool} is not installed (Debian package {package}; make setup)")
    # The rendered page shows personal data: it lives in a private temporary folder, removed
    # at once.
    with tempfile.TemporaryDirectory(prefix="kiosk-verify-") as tmp:
        page = Path(tmp) / "page"
        rendered = subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                "-singlefile",
                str(pdf),
                str(page),
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if rendered.returncode != 0:
            raise ScanError(f"{pdf.name} is not a PDF that can be rendered")
        decoded = subprocess.run(
            ["zbarimg", "-q", "--raw", "-Sbinary", f"{page}.png"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    codes = [line.strip() for line in decoded.stdout.decode("ascii", "replace").splitlines()]
    codes = [c for c in codes if c.startswith("KV1.")]
    if not codes:
        raise ScanError(f"no kiosk certificate code was found on the first page of {pdf.name}")
    return codes[0]
