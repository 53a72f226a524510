"""Certificates through a real cupsd (the harness's private one, an A4 queue that prints into a
file), and PDF folders: what "printed" means, and that no copy stays behind."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from devices.base import PDF, Fault, HealthLevel, Outcome, PrintJob, Role
from devices.cups import CupsPrinter
from devices.errors import DeviceUnavailable, PrinterError
from devices.registry import open_printer
from devices.testpage import a4_test_page
from tests.harness.services import Service, empty_cups_output

CP = Role.CERTIFICATE_PRINTER


def queue_url() -> str:
    return f"cups://{os.environ['KIOSK_TEST_CUPS_QUEUE']}?settle_ms=300"


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def leftovers() -> list[str]:
    """Files in cupsd's spool and temporary folder that hold a document (d-files, PDFs)."""
    found = []
    for variable in ("KIOSK_TEST_CUPS_SPOOL", "KIOSK_TEST_CUPS_TMP"):
        for path in Path(os.environ[variable]).rglob("*"):
            if path.is_file() and (path.name.startswith("d") or b"%PDF" in path.read_bytes()):
                found.append(str(path))
    return found


def test_a_job_is_printed_only_when_cups_completed_it_and_no_copy_stays(
    cupsd: Service, tmp_path: Path
) -> None:
    output = empty_cups_output()
    document = a4_test_page("cups test")
    printer = open_printer(queue_url(), CP)
    try:
        printer.print_job(PrintJob(PDF, document, "TEST-0001-20261129-00001"))
    finally:
        printer.close()
    assert "KIOSK CERTIFICATE PRINTER TEST" in pdf_text(output)
    assert leftovers() == []


def test_the_spool_scan_does_see_a_document_while_a_job_is_held(
    cupsd: Service, tmp_path: Path
) -> None:
    source = tmp_path / "held.pdf"
    source.write_bytes(a4_test_page("held"))
    queue = os.environ["KIOSK_TEST_CUPS_QUEUE"]
    held = subprocess.run(
        ["lp", "-H", "hold", "-d", queue, str(source)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    job = held.stdout.split()[3]  # "request id is QUEUE-7 (1 file(s))"
    try:
        assert leftovers()  # the scanner finds a document in the spool when there is one
    finally:
        subprocess.run(["cancel", "-x", job], check=True, timeout=30)
    assert leftovers() == []


def test_a_stopped_queue_refuses_in_plain_words_and_prints_again_once_enabled(
    cupsd: Service,
) -> None:
    queue = os.environ["KIOSK_TEST_CUPS_QUEUE"]
    printer = open_printer(queue_url(), CP)
    try:
        subprocess.run(["cupsdisable", queue], check=True, timeout=30)
        try:
            with pytest.raises(PrinterError) as refused:
                printer.print_job(PrintJob(PDF, a4_test_page("stopped"), "N-1"))
            assert "stopped or refuses jobs" in str(refused.value)
            assert refused.value.resident_message.startswith("打印机暂停使用。")
            health = printer.check_health(HealthLevel.INTERNAL)
            assert health.outcome is Outcome.FAILED
        finally:
            subprocess.run(["cupsenable", queue], check=True, timeout=30)
        printer.print_job(PrintJob(PDF, a4_test_page("enabled"), "N-2"))
        assert printer.check_health(HealthLevel.INTERNAL).outcome is Outcome.PASSED
    finally:
        printer.close()


def test_a_queue_that_does_not_exist_is_named(cupsd: Service) -> None:
    with pytest.raises(DeviceUnavailable, match="CUPS has no queue named 'NO-SUCH-QUEUE'"):
        open_printer("cups://NO-SUCH-QUEUE", CP)


def test_the_external_check_prints_a_test_page(cupsd: Service) -> None:
    output = empty_cups_output()
    printer = open_printer(queue_url(), CP)
    assert isinstance(printer, CupsPrinter)
    try:
        assert printer.check_health(HealthLevel.EXTERNAL).outcome is Outcome.PASSED
    finally:
        printer.close()
    assert "KIOSK CERTIFICATE PRINTER TEST" in pdf_text(output)


def test_a_pdf_folder_gets_one_private_file_per_document(tmp_path: Path) -> None:
    printer = open_printer(f"pdf-dir://{tmp_path}", CP)
    try:
        printer.print_job(PrintJob(PDF, b"%PDF-1.4 first", "DEMO-0001-20261129-00001"))
        printer.print_job(PrintJob(PDF, b"%PDF-1.4 again", "DEMO-0001-20261129-00001"))
        assert printer.check_health(HealthLevel.INTERNAL).outcome is Outcome.PASSED
    finally:
        printer.close()
    (written,) = tmp_path.iterdir()  # a reprint replaces; no temporary file remains
    assert written.name == "DEMO-0001-20261129-00001.pdf"
    assert written.read_bytes() == b"%PDF-1.4 again"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_a_pdf_folder_that_fills_up_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "pdf"
    folder.mkdir()
    printer = open_printer(f"pdf-dir://{folder}", CP)
    folder.chmod(0o500)
    try:
        if os.geteuid() == 0:
            folder.rmdir()  # root writes anywhere: a folder that went away instead
        health = printer.check_health(HealthLevel.INTERNAL)
        assert (health.outcome, health.fault) == (Outcome.FAILED, Fault.HARDWARE)
        with pytest.raises(PrinterError, match="cannot write"):
            printer.print_job(PrintJob(PDF, b"%PDF-1.4", "N-3"))
    finally:
        if folder.exists():
            folder.chmod(0o700)
        printer.close()
