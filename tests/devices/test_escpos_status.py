"""ESC/POS real-time status: the query's exact bytes and what each answer means."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.escpos.status import QUERY, PrinterStatus, StatusError, decode


def test_the_query_asks_the_four_statuses_in_order() -> None:
    assert QUERY == b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"\x12\x12\x12\x12", PrinterStatus("ok")),
        (b"\x12\x12\x12\x1e", PrinterStatus("near_end")),  # roll sensor bits 2-3
        (b"\x1a\x32\x12\x7e", PrinterStatus("out", offline=True)),  # bits 5-6, stopped at end
        (b"\x1a\x16\x12\x12", PrinterStatus("ok", cover_open=True, offline=True)),
        (b"\x1a\x52\x1a\x12", PrinterStatus("ok", offline=True, error="cutter")),
        (b"\x1a\x52\x32\x12", PrinterStatus("ok", offline=True, error="unrecoverable")),
        (b"\x12\x12\x52\x12", PrinterStatus("ok", error="recoverable")),
        (b"\x1a\x32\x12\x12", PrinterStatus("out", offline=True)),  # paper-end stop, sensor late
        (b"\x1a\x12\x12\x12", PrinterStatus("ok", offline=True)),  # offline, no cause given
        (b"\x12\x52\x12\x12", PrinterStatus("ok", error="unknown")),  # "an error occurred"
    ],
)
def test_answers_mean_what_the_reference_says(answer: bytes, expected: PrinterStatus) -> None:
    assert decode(answer) == expected


def test_what_can_print_and_what_is_said_when_not() -> None:
    assert PrinterStatus("near_end").can_print
    assert PrinterStatus("out").problem() == ("paper out", "打印机缺纸")
    assert PrinterStatus("ok", cover_open=True).problem() == ("cover open", "打印机盖未关好")
    assert PrinterStatus("ok", error="cutter").problem() == (
        "the cutter is jammed",
        "打印机切纸故障",
    )
    assert PrinterStatus("ok").problem() is None
    assert not PrinterStatus("ok", offline=True).can_print
    assert PrinterStatus("ok", offline=True).problem() == ("printer offline", "打印机暂停工作")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"", "expected 4 status bytes, got 0"),
        (b"\x12\x12\x12", "expected 4 status bytes, got 3"),
        (b"\x12\x12\x12\x13", r"status byte 4 is 0x13, not a status answer"),
        (b"\x92\x12\x12\x12", r"status byte 1 is 0x92, not a status answer"),
        (b"AT\r\n", r"status byte 1 is 0x41"),
    ],
)
def test_bytes_that_are_not_status_answers_are_refused(answer: bytes, message: str) -> None:
    with pytest.raises(StatusError, match=message):
        decode(answer)


@given(st.binary(max_size=8))
def test_any_bytes_decode_or_are_refused_cleanly(answer: bytes) -> None:
    try:
        status = decode(answer)
    except StatusError:
        return
    assert status.paper in ("ok", "near_end", "out")
