"""An ESC/POS thermal receipt printer on one end of a pty pair (socat); the kiosk's driver opens
the other end like a real serial port. It keeps what it would have printed and answers the
real-time status queries `DLE EOT n` (n = 1 printer, 2 offline cause, 3 error cause, 4 roll
paper) at once, and the paper sensor query `GS r 1` when it reaches it (after what came
before it was printed), from its own state. Written from Epson's ESC/POS reference with no
code shared with the driver: a misreading cannot hide in both.

States a test (or a person at the command line) can set: paper "ok", "near-end" or "out"; the
cover open; a cutter jam. With no paper or the cover open it prints nothing: bytes that arrive
then are kept apart in `discarded`, as a real printer drops or holds them.

    python -m devices.simulators.escpos_printer /tmp/printer-tty --paper near-end
"""

from __future__ import annotations

import argparse
import os
import threading

from devices.simulators.line import serve_line

DLE, EOT, GS = 0x10, 0x04, 0x1D
PAPER_STATES = ("ok", "near-end", "out")
FIXED = 0x12  # bits 1 and 4 are always set in a status answer; bits 0 and 7 always clear


class EscposPrinterSimulator:
    def __init__(self, path: str, paper: str = "ok") -> None:
        if paper not in PAPER_STATES:
            raise ValueError(f"unknown paper state {paper!r} (known: {', '.join(PAPER_STATES)})")
        self.path = path
        self.paper = paper
        self.cover_open = False
        self.cutter_jam = False
        self.paper_left: int | None = None  # bytes until the roll runs out (None: plenty)
        self.confirms_jobs = True  # False: GS r 1 is never answered (a printer that hung)
        self.printed = bytearray()  # everything it printed, status queries taken out
        self.discarded = bytearray()  # what arrived while it could not print
        self.queries: list[int] = []  # the n of every DLE EOT n it answered
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what a technician would do to a real one -----------------------------------------------
    def set_paper(self, paper: str) -> None:
        if paper not in PAPER_STATES:
            raise ValueError(f"unknown paper state {paper!r}")
        with self._lock:
            self.paper = paper

    def take_printed(self) -> bytes:
        """What came out since the last call (the slips a resident would take)."""
        with self._lock:
            out = bytes(self.printed)
            self.printed.clear()
            return out

    @property
    def can_print(self) -> bool:
        return self.paper != "out" and not self.cover_open and not self.cutter_jam

    # --- status bytes --------------------------------------------------------------------------
    def status_byte(self, n: int) -> int:
        offline = not self.can_print
        if n == 1:
            return FIXED | (0x08 if offline else 0)
        if n == 2:
            return (
                FIXED
                | (0x04 if self.cover_open else 0)
                | (0x20 if self.paper == "out" else 0)
                | (0x40 if self.cutter_jam else 0)
            )
        if n == 3:
            return FIXED | (0x08 if self.cutter_jam else 0)
        if n == 4:
            return FIXED | {"ok": 0x00, "near-end": 0x0C, "out": 0x6C}[self.paper]
        return FIXED

    def paper_sensor_byte(self) -> int:
        """The answer to GS r 1, sent once everything before it was printed."""
        return {"ok": 0x00, "near-end": 0x03, "out": 0x0C}[self.paper]

    # --- the line ------------------------------------------------------------------------------
    def start(self) -> EscposPrinterSimulator:
        self._thread = threading.Thread(target=self.serve, name="escpos-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def serve(self) -> None:
        self.serve_fd(os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))

    def serve_fd(self, fd: int) -> None:
        """Serve one open line (a pty, or an accepted socket for a network printer) until it
        closes or stop(); closes it."""
        pending = b""  # a DLE, or DLE EOT, waiting for the rest of its command

        def feed(chunk: bytes) -> bool:
            nonlocal pending
            pending = self._feed(fd, pending + chunk)
            return True

        serve_line(fd, self._stop, feed)

    def _feed(self, fd: int, data: bytes) -> bytes:
        """Answer every DLE EOT n at once (real time), print the rest; return an unfinished
        command's bytes, to be completed by the next read."""
        i = start = 0
        with self._lock:
            while i < len(data):
                if data[i] == GS:
                    if i + 2 >= len(data):
                        self._keep(data[start:i])
                        return data[i:]
                    if data[i + 1] == 0x72 and data[i + 2] in (1, 49):  # GS r 1: in order
                        self._keep(data[start:i])
                        self.queries.append(0x72)
                        if self.confirms_jobs:
                            os.write(fd, bytes([self.paper_sensor_byte()]))
                        i = start = i + 3
                        continue
                    i += 1
                    continue
                if data[i] != DLE:
                    i += 1
                    continue
                if i + 1 == len(data) or (data[i + 1] == EOT and i + 2 == len(data)):
                    self._keep(data[start:i])
                    return data[i:]
                if data[i + 1] == EOT and 1 <= data[i + 2] <= 4:
                    self._keep(data[start:i])
                    self.queries.append(data[i + 2])
                    os.write(fd, bytes([self.status_byte(data[i + 2])]))
                    i = start = i + 3
                    continue
                i += 1
            self._keep(data[start:])
        return b""

    def _keep(self, data: bytes) -> None:
        if not self.can_print:
            self.discarded.extend(data)
            return
        if self.paper_left is not None and len(data) >= self.paper_left:
            # The roll ends part-way through: the rest of the slip never comes out.
            self.printed.extend(data[: self.paper_left])
            self.discarded.extend(data[self.paper_left :])
            self.paper_left, self.paper = None, "out"
            return
        if self.paper_left is not None:
            self.paper_left -= len(data)
        self.printed.extend(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pty")
    parser.add_argument("--paper", default="ok", choices=PAPER_STATES)
    args = parser.parse_args()
    EscposPrinterSimulator(args.pty, args.paper).serve()


if __name__ == "__main__":
    main()
