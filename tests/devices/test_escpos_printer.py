"""ESC/POS receipt printers through real transports: a socat pty with the printer simulator on
the other end (escpos+serial), a TCP socket (escpos+tcp), a file (escpos+file)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from devices.base import (
    ESCPOS,
    CardRecord,
    DeviceEvent,
    Fault,
    HealthLevel,
    Outcome,
    PrintJob,
    Role,
)
from devices.errors import DeviceUnavailable, PrinterError
from devices.escpos.printer import EscposPrinter
from devices.registry import open_printer
from devices.simulators.escpos_printer import EscposPrinterSimulator
from devices.simulators.people import PEOPLE
from devices.testpage import TEST_SLIP
from kiosk.catalog import load_catalog
from kiosk.documents.compose import transaction_receipt
from kiosk.documents.receipt import render_escpos
from kiosk.identity import identity_from_card
from tests.harness.services import Service

RP = Role.RECEIPT_PRINTER


def sample_receipt() -> bytes:
    person = PEOPLE["resident"]
    identity = identity_from_card(
        CardRecord(person.kind, person.type_flag, dict(person.fields), "sim://")
    )
    receipt = transaction_receipt(
        number="TEST-0001-20261129-00001",
        item=load_catalog()["residence-certificate"],
        identity=identity,
        values={"purpose": "child_school_enrollment", "copies": 1},
        hall_name="测试社区党群服务中心",
        at=datetime(2026, 11, 29, 9, 30),
        demo=True,
        track_url="https://zwfw.example.gov.cn/track/TEST-0001-20261129-00001",
    )
    return render_escpos(receipt, 58)


@pytest.fixture
def simulator(pty_pair: Service) -> Iterator[EscposPrinterSimulator]:
    sim = EscposPrinterSimulator(pty_pair.env["KIOSK_TEST_PTY_DEVICE"]).start()
    yield sim
    sim.stop()


@pytest.fixture
def printer(pty_pair: Service, simulator: EscposPrinterSimulator) -> Iterator[EscposPrinter]:
    opened = open_printer(f"escpos+serial://{pty_pair.env['KIOSK_TEST_PTY_HOST']}?baud=9600", RP)
    assert isinstance(opened, EscposPrinter)
    yield opened
    opened.close()


def test_a_receipt_arrives_byte_for_byte_with_status_asked_before_and_after(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    receipt = sample_receipt()
    events: list[DeviceEvent] = []
    printer.subscribe(events.append)
    printer.print_job(PrintJob(ESCPOS, receipt, "TEST-0001-20261129-00001"))
    assert simulator.take_printed() == receipt
    # Real-time status before; after the job, GS r 1 (answered once printed), then status again.
    assert simulator.queries == [1, 2, 3, 4, 0x72, 1, 2, 3, 4]
    assert [e.kind for e in events if e.kind == "printed"] == ["printed"]


def test_paper_out_refuses_before_printing_then_a_reprint_works_once_paper_is_back(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    simulator.set_paper("out")
    receipt = sample_receipt()
    with pytest.raises(PrinterError) as refused:
        printer.print_job(PrintJob(ESCPOS, receipt, "N-1"))
    assert refused.value.fault is Fault.CONSUMABLES
    assert (
        refused.value.resident_message == "打印机缺纸。您的业务已经受理，请联系工作人员补打凭条。"
    )
    assert "paper out (before printing)" in str(refused.value)
    assert simulator.take_printed() == b""
    assert simulator.discarded == bytearray()  # nothing was even sent
    health = printer.check_health(HealthLevel.INTERNAL)
    assert (health.outcome, health.fault, health.data["paper"]) == (
        Outcome.FAILED,
        Fault.CONSUMABLES,
        "out",
    )
    simulator.set_paper("ok")  # staff put a new roll in
    assert printer.check_health(HealthLevel.INTERNAL).outcome is Outcome.PASSED
    printer.print_job(PrintJob(ESCPOS, receipt, "N-1"))
    assert simulator.take_printed() == receipt


def test_paper_running_out_mid_receipt_is_a_failure_not_a_success(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    receipt = sample_receipt()
    simulator.paper_left = len(receipt) // 2
    with pytest.raises(PrinterError, match=r"paper out \(after printing: the receipt may be"):
        printer.print_job(PrintJob(ESCPOS, receipt, "N-2"))
    assert simulator.take_printed() == receipt[: len(receipt) // 2]


def test_near_end_prints_and_warns_staff(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    simulator.set_paper("near-end")
    events: list[DeviceEvent] = []
    printer.subscribe(events.append)
    printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-3"))
    assert simulator.take_printed() == TEST_SLIP
    assert "paper_near_end" in [e.kind for e in events]
    health = printer.check_health(HealthLevel.INTERNAL)
    assert health.outcome is Outcome.PASSED
    assert health.data["paper"] == "near_end"
    assert "change the roll soon" in health.summary


def test_an_open_cover_is_a_hardware_fault_in_plain_words(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    simulator.cover_open = True
    with pytest.raises(PrinterError) as refused:
        printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-4"))
    assert refused.value.fault is Fault.HARDWARE
    assert refused.value.resident_message.startswith("打印机盖未关好。")


def test_the_external_check_prints_a_test_slip(
    printer: EscposPrinter, simulator: EscposPrinterSimulator
) -> None:
    assert printer.check_health(HealthLevel.EXTERNAL).outcome is Outcome.PASSED
    assert simulator.take_printed() == TEST_SLIP
    assert printer.check_health(HealthLevel.INTERACTIVE).outcome is Outcome.NOT_RUN


def test_a_printer_that_does_not_answer_is_reported_not_trusted(pty_pair: Service) -> None:
    # Nothing on the other end of the line: a printer switched off.
    printer = open_printer(f"escpos+serial://{pty_pair.env['KIOSK_TEST_PTY_HOST']}", RP)
    try:
        with pytest.raises(DeviceUnavailable, match="does not answer status queries"):
            printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-5"))
        assert printer.check_health(HealthLevel.INTERNAL).outcome is Outcome.FAILED
    finally:
        printer.close()


class NetworkPrinter:
    """The simulator behind a TCP port, as a network receipt printer on port 9100; it can be
    power-cycled (every connection dropped)."""

    def __init__(self) -> None:
        self.sim = EscposPrinterSimulator("(network)")
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        self.server.settimeout(0.05)  # so that close() is noticed at once
        while self.server.fileno() != -1:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            thread = threading.Thread(target=self.sim.serve_fd, args=(conn.detach(),), daemon=True)
            self.threads.append(thread)
            thread.start()

    def power_cycle(self) -> None:
        self.sim.stop()
        for thread in self.threads:
            thread.join(5)
        self.threads.clear()
        self.sim._stop.clear()

    def close(self) -> None:
        self.power_cycle()
        self.server.close()
        self._accepting.join(5)


def test_a_network_printer_power_cycled_is_reconnected_without_a_restart() -> None:
    network = NetworkPrinter()
    printer = open_printer(f"escpos+tcp://127.0.0.1:{network.port}", RP)
    try:
        printer.print_job(PrintJob(ESCPOS, b"\x1b@first\n", "N-6"))
        network.power_cycle()
        printer.print_job(PrintJob(ESCPOS, b"\x1b@second\n", "N-7"))
        assert network.sim.take_printed() == b"\x1b@first\n\x1b@second\n"
    finally:
        printer.close()
        network.close()


def test_a_file_printer_writes_the_bytes_and_claims_no_more(tmp_path: Path) -> None:
    out = tmp_path / "receipts.bin"
    printer = open_printer(f"escpos+file://{out}", RP)
    try:
        printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-8"))
        printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-9"))
        health = printer.check_health(HealthLevel.INTERNAL)
    finally:
        printer.close()
    assert out.read_bytes() == TEST_SLIP * 2
    assert (health.outcome, health.summary) == (
        Outcome.PASSED,
        "written to a file; no status to ask",
    )


def test_opening_twice_does_not_open_a_second_line(tmp_path: Path) -> None:
    # open_printer opens; `with` opens again: the second must not leak the first.
    with open_printer(f"escpos+file://{tmp_path / 'r.bin'}", RP) as printer:
        printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-10"))
    assert (tmp_path / "r.bin").read_bytes() == TEST_SLIP


def test_a_job_the_printer_never_confirms_is_not_reported_printed(
    pty_pair: Service, simulator: EscposPrinterSimulator
) -> None:
    from devices.escpos.transport import SerialTransport

    host = pty_pair.env["KIOSK_TEST_PTY_HOST"]
    printer = EscposPrinter(
        "escpos+serial://test", lambda: SerialTransport(host, 9600), job_base_s=0.3
    )
    printer.open()
    simulator.confirms_jobs = False  # it takes the bytes and then hangs
    events: list[DeviceEvent] = []
    printer.subscribe(events.append)
    try:
        with pytest.raises(PrinterError) as unconfirmed:
            printer.print_job(PrintJob(ESCPOS, TEST_SLIP, "N-11"))
    finally:
        printer.close()
    assert "N-11 sent but not confirmed printed" in str(unconfirmed.value)
    assert unconfirmed.value.resident_message.startswith("凭条可能没有打印完整。")
    assert "printed" not in [e.kind for e in events]
