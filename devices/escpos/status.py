"""ESC/POS real-time status (DLE EOT n): the four queries and the meaning of their answers.
Pure bytes in and out.

A printer answers each `DLE EOT n` with one byte, even while its buffer is full or it is
offline, which is what makes the status trustworthy: a thermal printer that silently prints
nothing on an empty roll still says so here. Every answer byte has bits 1 and 4 set and bits 0
and 7 clear (mask 0x93 → 0x12), so a byte that is not a status answer is recognised.

    n=1 printer status   bit 3: offline
    n=2 offline cause    bit 2: cover open; bit 3: paper fed by the button;
                         bit 5: stopped at paper end; bit 6: an error occurred
    n=3 error cause      bit 3: autocutter error; bit 5: unrecoverable error;
                         bit 6: automatically recoverable error (e.g. print head too hot)
    n=4 roll paper       bits 2-3: paper near its end; bits 5-6: paper out
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from devices.errors import N_

DLE_EOT: Final = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, ROLL_PAPER = 1, 2, 3, 4
# One write asks all four; the answers come back in this order, one byte each.
QUERY: Final = b"".join(
    DLE_EOT + bytes([n]) for n in (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, ROLL_PAPER)
)
ANSWER_LENGTH: Final = 4
# GS r 1 (paper sensor status) is not real-time: the printer answers it only when it reaches it
# in its buffer, i.e. after everything sent before it was printed. Its byte: bits 0-1 near end,
# bits 2-3 paper out; bits 4 and 7 always clear.
AFTER_JOB: Final = b"\x1dr\x01"
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12


class StatusError(ValueError):
    """The bytes that came back are not status answers (noise, another protocol)."""


@dataclass(frozen=True)
class PrinterStatus:
    paper: str  # "ok", "near_end" or "out"
    cover_open: bool = False
    offline: bool = False
    error: str = ""  # "", "cutter", "unrecoverable" or "recoverable"

    @property
    def can_print(self) -> bool:
        return self.paper != "out" and not self.cover_open and not self.error and not self.offline

    def problem(self) -> tuple[str, str] | None:
        """(for technicians, for residents) when it cannot print now; None when it can."""
        if self.paper == "out":
            return "paper out", N_("打印机缺纸")
        if self.cover_open:
            return "cover open", N_("打印机盖未关好")
        if self.error == "cutter":
            return "the cutter is jammed", N_("打印机切纸故障")
        if self.error:
            return f"{self.error} printer error", N_("打印机故障")
        if self.offline:
            return "printer offline", N_("打印机暂停工作")
        return None


def decode(answer: bytes) -> PrinterStatus:
    """The four answer bytes to QUERY, in order."""
    if len(answer) != ANSWER_LENGTH:
        raise StatusError(f"expected {ANSWER_LENGTH} status bytes, got {len(answer)}")
    for index, byte in enumerate(answer):
        if byte & _FIXED_MASK != _FIXED_BITS:
            raise StatusError(f"status byte {index + 1} is {byte:#04x}, not a status answer")
    printer, offline_cause, error_cause, roll = answer
    if roll & 0x60:
        paper = "out"
    elif roll & 0x0C:
        paper = "near_end"
    else:
        paper = "ok"
    error = ""
    if error_cause & 0x20:
        error = "unrecoverable"
    elif error_cause & 0x08:
        error = "cutter"
    elif error_cause & 0x40:
        error = "recoverable"
    elif offline_cause & 0x40:
        error = "unknown"  # "an error occurred", its cause not reported
    if offline_cause & 0x20 and paper == "ok":
        paper = "out"  # stopped at the paper end although the roll sensor has not caught up
    return PrinterStatus(
        paper=paper,
        cover_open=bool(offline_cause & 0x04),
        offline=bool(printer & 0x08),
        error=error,
    )


def decode_after_job(answer: int) -> str:
    """The paper state from a GS r 1 answer: "ok", "near_end" or "out"."""
    if answer & 0x90:
        raise StatusError(f"{answer:#04x} is not a paper sensor answer")
    if answer & 0x0C:
        return "out"
    return "near_end" if answer & 0x03 else "ok"
