"""make bench: measurements too slow or too noisy for make test, as ratios measured side by
side in one run. Writes benchmarks/results.json: rows of name, ratio, goal, met and the two
medians behind each ratio."""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.documents.certificate import Certificate, render_certificate
from kiosk.documents.fonts import pdf_font
from kiosk.trust import Signer, certify

RUNS = 30
sys.path.insert(0, str(Path(__file__).parents[1]))  # `python benchmarks/run.py` finds benchmarks

from benchmarks.common import median_s, row  # noqa: E402


def certificate_vs_one_line_page() -> dict[str, Any]:
    """What the certificate template costs over a one-line page in the same embedded font."""
    from reportlab.pdfgen import canvas

    font = pdf_font()  # loaded once, as in the kiosk: not part of either measurement
    root, kiosk = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signer = Signer(
        kiosk,
        certify(
            root,
            kiosk_id="K1",
            hall="示例社区居委会",
            public=kiosk.public_key(),
            not_before=date(2026, 1, 1),
        ),
    )
    cert = Certificate(
        "residence",
        "K1-20261129-00001",
        date(2026, 11, 29),
        "示例社区居委会",
        "测试一",
        "男",
        "110101196205170316",
        "北京市东城区测试街道示例社区1号楼",
        "子女入学",
        False,
    )

    def one_line() -> bytes:
        out = io.BytesIO()
        page = canvas.Canvas(out, invariant=True)
        page.setFont(font, 15)
        page.drawString(72, 720, "居住证明 测试一")
        page.showPage()
        page.save()
        return out.getvalue()

    full = median_s(lambda: render_certificate(cert, signer.sign(cert.fields())), RUNS)
    base = median_s(one_line, RUNS)
    return row("certificate PDF vs one-line page, same embedded font", full, base)


def main() -> None:
    from benchmarks.cardread import card_read
    from benchmarks.memory import memory
    from benchmarks.outbox import rates
    from benchmarks.sync import sync
    from benchmarks.ui import touchscreen

    started = time.monotonic()
    groups: list[Callable[[], list[dict[str, Any]]]] = [
        touchscreen,
        card_read,
        lambda: [certificate_vs_one_line_page()],
        rates,
        sync,
        memory,
    ]
    rows = [r for group in groups for r in group()]
    print(f"{'benchmark':<70} {'ratio':>7} {'goal':>7} {'met':>5}  medians")
    for r in rows:
        goal = "" if r["goal"] is None else f"{r['goal_is']}{r['goal']}"
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        print(
            f"{r['name']:<70} {r['ratio']:>7.4g} {goal:>7} {met:>5}  "
            f"{r['median']:.4g} vs {r['baseline_median']:.4g} {r['unit']}"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform(terse=True)}"
    path = Path(__file__).with_name("results.json")
    path.write_text(
        json.dumps(
            {"date": date.today().isoformat(), "machine": machine, "rows": rows},
            indent=1,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(rows)} ratios in {time.monotonic() - started:.0f} s on {machine}; wrote {path}")


if __name__ == "__main__":
    main()
