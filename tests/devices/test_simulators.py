"""The simulated reader and the recording printer behave like the devices they stand in for."""

from __future__ import annotations

import threading
import time

import pytest

from devices.base import (
    ESCPOS,
    PDF,
    DeviceEvent,
    DeviceState,
    Fault,
    HealthLevel,
    Outcome,
    PrintJob,
    Role,
)
from devices.errors import DeviceUnavailable, PrinterError
from devices.registry import open_printer, open_reader
from devices.simulators.people import PEOPLE, with_check_character
from devices.simulators.reader import SimReader


def test_the_simulators_check_characters_match_the_standards_examples() -> None:
    assert with_check_character("11010519491231002") == "11010519491231002X"
    assert with_check_character("44052418800101001") == "440524188001010014"


def test_synthetic_people_have_test_names_only() -> None:
    for person in PEOPLE.values():
        assert person.fields["name"].startswith("测试")


def test_a_card_is_on_the_reader_after_opening_and_reads_at_once() -> None:
    reader = open_reader("sim://elderly")
    assert reader.card_present()
    record = reader.read_card(timeout=1)
    assert record is not None
    assert record.fields["name"] == "测试二"
    assert record.reader == "sim://elderly"
    assert reader.state is DeviceState.IDLE


def test_an_empty_reader_returns_none_after_the_timeout() -> None:
    reader = open_reader("sim://empty")
    started = time.monotonic()
    assert reader.read_card(timeout=0.2) is None
    assert time.monotonic() - started >= 0.2


def test_a_read_waiting_for_a_card_returns_when_one_is_presented() -> None:
    reader = open_reader("sim://empty")
    assert isinstance(reader, SimReader)
    threading.Timer(0.1, reader.present, args=("sscard",)).start()
    record = reader.read_card(timeout=5)
    assert record is not None
    assert record.kind == "social_security"


def test_removing_the_card_empties_the_reader_and_emits_events() -> None:
    reader = open_reader("sim://")
    assert isinstance(reader, SimReader)
    events: list[DeviceEvent] = []
    unsubscribe = reader.subscribe(events.append)
    reader.remove()
    assert not reader.card_present()
    assert reader.read_card(timeout=0.05) is None
    reader.present("rare")
    unsubscribe()
    reader.remove()  # no longer heard
    assert [e.kind for e in events] == ["card_removed", "card_inserted"]
    assert events[1].detail == {"card": "id_card"}
    assert all("测试" not in str(e) for e in events)


def test_everyone_profile_cycles_through_the_people() -> None:
    reader = open_reader("sim://everyone")
    assert isinstance(reader, SimReader)
    names = []
    for _ in range(len(PEOPLE)):
        record = reader.read_card(timeout=1)
        assert record is not None
        names.append(record.fields["name"])
        reader.remove()
        reader.present()
    assert sorted(names) == sorted(p.fields["name"] for p in PEOPLE.values())


def test_a_broken_reader_cannot_be_opened() -> None:
    with pytest.raises(DeviceUnavailable, match="does not answer"):
        open_reader("sim://broken")


def test_a_slow_reader_is_busy_while_it_reads() -> None:
    reader = open_reader("sim://?delay_ms=150")
    states: list[DeviceState] = []
    reader.subscribe(lambda e: states.append(e.state))
    started = time.monotonic()
    assert reader.read_card(timeout=1) is not None
    assert time.monotonic() - started >= 0.15
    assert states == [DeviceState.BUSY, DeviceState.IDLE]


def test_reader_health_levels() -> None:
    reader = open_reader("sim://")
    assert reader.check_health(HealthLevel.INTERNAL).outcome is Outcome.PASSED
    assert reader.check_health(HealthLevel.EXTERNAL).outcome is Outcome.PASSED
    assert reader.check_health(HealthLevel.INTERACTIVE).outcome is Outcome.NOT_RUN
    empty = open_reader("sim://empty")
    assert empty.check_health(HealthLevel.EXTERNAL).outcome is Outcome.NOT_RUN
    reader.close()
    assert reader.check_health(HealthLevel.INTERNAL).outcome is Outcome.FAILED
    with pytest.raises(DeviceUnavailable):
        reader.read_card(timeout=0)


def test_the_recording_printer_keeps_exact_bytes_in_order() -> None:
    printer = open_printer("sim://", Role.RECEIPT_PRINTER)
    printer.print_job(PrintJob(ESCPOS, b"\x1b@first\n", "K-1"))
    printer.print_job(PrintJob(ESCPOS, b"second\n\x1dV\x00", "K-2"))
    assert printer.output == b"\x1b@first\nsecond\n\x1dV\x00"  # type: ignore[attr-defined]
    assert [j.title for j in printer.jobs] == ["K-1", "K-2"]  # type: ignore[attr-defined]


def test_a_receipt_printer_refuses_a_pdf() -> None:
    printer = open_printer("sim://", Role.RECEIPT_PRINTER)
    with pytest.raises(PrinterError, match=r"takes application/vnd\.escpos"):
        printer.print_job(PrintJob(PDF, b"%PDF-1.4", "K-1"))


def test_a_printer_out_of_paper_refuses_and_says_so_in_plain_words() -> None:
    printer = open_printer("sim://paper-out", Role.RECEIPT_PRINTER)
    with pytest.raises(PrinterError) as raised:
        printer.print_job(PrintJob(ESCPOS, b"x", "K-1"))
    assert raised.value.fault is Fault.CONSUMABLES
    assert "缺纸" in raised.value.resident_message
    assert "已经受理" in raised.value.resident_message
    health = printer.check_health(HealthLevel.INTERNAL)
    assert (health.outcome, health.fault) == (Outcome.FAILED, Fault.CONSUMABLES)


def test_paper_near_end_passes_with_a_warning() -> None:
    printer = open_printer("sim://near-end", Role.RECEIPT_PRINTER)
    health = printer.check_health(HealthLevel.INTERNAL)
    assert health.outcome is Outcome.PASSED
    assert health.data["paper"] == "near_end"


def test_the_external_check_prints_a_test_slip_and_internal_prints_nothing() -> None:
    printer = open_printer("sim://", Role.RECEIPT_PRINTER)
    printer.check_health(HealthLevel.INTERNAL)
    assert printer.jobs == []  # type: ignore[attr-defined]
    printer.check_health(HealthLevel.EXTERNAL)
    assert [j.title for j in printer.jobs] == ["selftest"]  # type: ignore[attr-defined]
    assert printer.check_health(HealthLevel.INTERACTIVE).outcome is Outcome.NOT_RUN


def test_an_offline_printer_cannot_be_opened() -> None:
    with pytest.raises(DeviceUnavailable):
        open_printer("sim://offline", Role.CERTIFICATE_PRINTER)


def test_a_print_job_repr_shows_no_content() -> None:
    assert repr(PrintJob(ESCPOS, "测试一".encode("gb18030"), "K-1")) == (
        "PrintJob('application/vnd.escpos', 6 bytes, title='K-1')"
    )
