"""`kiosk print test-page` and `kiosk print reprint`, run as a technician or staff would."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from devices.testpage import TEST_SLIP
from kiosk.config import load_config
from kiosk.soak import run_soak
from offline_cache.outbox import Outbox
from tests.devices.test_cups_printer import leftovers, pdf_text
from tests.harness.services import Service, empty_cups_output

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env |= {"HOME": str(tmp_path), "KIOSK_DEMO": "1", "KIOSK_DATA_DIR": str(tmp_path / "d")}
    env |= {k: v for k, v in os.environ.items() if k.startswith("KIOSK_TEST_")} | extra
    return subprocess.run(
        [KIOSK, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_test_page_through_a_real_cups_queue_leaves_no_copy(
    cupsd: Service, tmp_path: Path
) -> None:
    output = empty_cups_output()
    url = f"cups://{os.environ['KIOSK_TEST_CUPS_QUEUE']}?settle_ms=300"
    done = run(["print", "test-page", "--printer", url], tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == f"printed a test page on {url}"
    assert "KIOSK CERTIFICATE PRINTER TEST" in pdf_text(output)
    assert leftovers() == []


def test_test_pages_for_the_other_kinds_of_printer(tmp_path: Path) -> None:
    slip = tmp_path / "slip.bin"
    assert (
        run(["print", "test-page", "--printer", f"escpos+file://{slip}"], tmp_path).returncode == 0
    )
    assert slip.read_bytes() == TEST_SLIP
    folder = tmp_path / "pdf"
    folder.mkdir()
    assert run(["print", "test-page", "--printer", f"pdf-dir://{folder}"], tmp_path).returncode == 0
    assert (folder / "test-page.pdf").read_bytes().startswith(b"%PDF")
    gone = run(["print", "test-page", "--printer", "escpos+tcp://127.0.0.1:9"], tmp_path)
    assert gone.returncode == 4
    assert gone.stderr.startswith("kiosk: 打印失败 (not printed): ")
    assert "cannot connect to 127.0.0.1:9" in gone.stderr


def test_reprint_by_number_within_the_retention_period_only(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "d"), "KIOSK_READER": "sim://"}
    run_soak(load_config(None, demo=True, environ=env), 3, seed=1, out=io.StringIO())
    path = tmp_path / "d" / "outbox.sqlite3"
    with Outbox(path, min_free_bytes=0) as outbox:
        number = next(r.number for r in outbox.rows() if r.kind == "transaction")
    pdf = tmp_path / "pdf"
    pdf.mkdir()
    slip = tmp_path / "slip.bin"
    printers = {
        "KIOSK_RECEIPT_PRINTER": f"escpos+file://{slip}",
        "KIOSK_CERTIFICATE_PRINTER": f"pdf-dir://{pdf}",
    }
    again = run(["print", "reprint", number, "--receipt"], tmp_path, **printers)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.strip() == f"{number}: printed 凭条"
    assert number.encode() in slip.read_bytes()
    unknown = run(["print", "reprint", "DEMO-0001-20200101-00001"], tmp_path, **printers)
    assert unknown.returncode == 1
    assert "there is no transaction DEMO-0001-20200101-00001 on this kiosk" in unknown.stderr
    with Outbox(path, min_free_bytes=0) as outbox:
        for row in outbox.lease("test", limit=100, lease_s=60):
            outbox.accept(row.key, "test")
        outbox.purge(retention_s=0)
    purged = run(["print", "reprint", number], tmp_path, **printers)
    assert purged.returncode == 1
    assert "erased after the retention period" in purged.stderr


def test_reprint_refuses_rejected_and_expired_rows_and_opens_only_what_it_needs(
    tmp_path: Path,
) -> None:
    env = {"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "d"), "KIOSK_READER": "sim://"}
    run_soak(load_config(None, demo=True, environ=env), 3, seed=1, out=io.StringIO())
    path = tmp_path / "d" / "outbox.sqlite3"
    with Outbox(path, min_free_bytes=0) as outbox:
        rows = [r for r in outbox.rows() if r.kind == "transaction"]
        first, second, third = rows[0], rows[1], rows[2]
        for row in outbox.lease("test", limit=100, lease_s=60):
            if row.key == first.key:
                outbox.reject(row.key, "test", "ITEM_CLOSED", "该事项已停止自助受理")
            else:
                outbox.accept(row.key, "test")
    with sqlite3.connect(path) as db:  # accepted long before the retention period
        db.execute("UPDATE outbox SET updated_at = 0 WHERE key = ?", (second.key,))
    db.close()
    slip = tmp_path / "slip.bin"
    printers = {
        "KIOSK_RECEIPT_PRINTER": f"escpos+file://{slip}",
        # A certificate printer that cannot be reached must not block a receipt.
        "KIOSK_CERTIFICATE_PRINTER": "cups://NO-SUCH-QUEUE",
    }
    rejected = run(["print", "reprint", first.number], tmp_path, **printers)
    assert rejected.returncode == 1
    assert "was rejected by the platform (ITEM_CLOSED)" in rejected.stderr
    expired = run(["print", "reprint", second.number, "--receipt"], tmp_path, **printers)
    assert expired.returncode == 1
    assert "erased after the retention period" in expired.stderr
    receipt = run(["print", "reprint", third.number, "--receipt"], tmp_path, **printers)
    assert receipt.returncode == 0, receipt.stderr
    assert third.number.encode() in slip.read_bytes()
