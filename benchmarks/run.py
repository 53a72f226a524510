"""make bench: measurements too slow or too noisy for make test, as ratios measured side by
side in one run. Writes benchmarks/results.json: rows of name, ratio, goal, met and the two
medians behind each ratio."""

from __future__ import annotations

import io
import json
import statistics
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


def median_s(work: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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

    full = median_s(lambda: render_certificate(cert, signer.sign(cert.fields())))
    base = median_s(one_line)
    return {
        "name": "certificate PDF vs one-line page, same font",
        "ratio": round(full / base, 2),
        "goal": None,
        "met": None,
        "median_s": round(full, 4),
        "baseline_median_s": round(base, 4),
    }


def main() -> None:
    rows = [certificate_vs_one_line_page()]
    print(f"{'name':<48} {'ratio':>7} {'median':>10} {'baseline':>10}")
    for row in rows:
        print(
            f"{row['name']:<48} {row['ratio']:>7} {row['median_s'] * 1000:>8.1f}ms "
            f"{row['baseline_median_s'] * 1000:>8.1f}ms"
        )
    path = Path(__file__).with_name("results.json")
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
