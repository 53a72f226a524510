"""A GA/T 467 SAM on one end of a pty pair (socat); the reader opens the other end like a real
serial port. Written from ../shared/reference/id-cards.md with its own frame and layout code:
it shares nothing with the driver, so a misreading of the reference cannot hide in both.

Faults: none, noise (stray bytes before and after answers), split (answers written in small
pieces), bad-checksum (read answers with a wrong XOR), no-card, sam-fail (self-test fails),
pulled (the card is pulled while its read answer is being sent).

    python -m devices.simulators.ga467_sam /tmp/sam-tty --card resident --fault noise
"""

from __future__ import annotations

import argparse
import os
import random
import select
import threading
import time
from functools import reduce

from devices.simulators.line import serve_line
from devices.simulators.people import PEOPLE, SyntheticCard

PRE = bytes.fromhex("AAAAAA9669")
FAULTS = ("none", "noise", "split", "bad-checksum", "no-card", "sam-fail", "pulled")
SAM_ID_BYTES = bytes.fromhex("0501000020230601000000000000A1B2")

# (field, offset in bytes, length in bytes) for each card type flag, from the reference tables.
_LAYOUTS: dict[str, list[tuple[str, int, int]]] = {
    "": [
        ("name", 0, 30),
        ("sex", 30, 2),
        ("nation", 32, 4),
        ("birth", 36, 16),
        ("address", 52, 70),
        ("id_number", 122, 36),
        ("issuer", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
    ],
    "J": [
        ("name", 0, 30),
        ("sex", 30, 2),
        ("birth", 36, 16),
        ("address", 52, 70),
        ("id_number", 122, 36),
        ("issuer", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("permit_number", 220, 18),
        ("issue_count", 238, 4),
    ],
    "I": [
        ("name_en", 0, 120),
        ("sex", 120, 2),
        ("id_number", 122, 30),
        ("nationality", 152, 6),
        ("name", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("birth", 220, 16),
        ("version", 236, 4),
        ("authority_code", 240, 8),
    ],
    "Y": [
        ("name", 0, 30),
        ("sex", 30, 2),
        ("renewal_count", 32, 4),
        ("birth", 36, 16),
        ("name_en", 52, 70),
        ("id_number", 122, 36),
        ("issuer", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("nationality", 242, 6),
    ],
}


def text_block(card: SyntheticCard) -> bytes:
    chars = [" "] * 128
    for name, offset, length in _LAYOUTS[card.type_flag]:
        value = card.fields.get(name, "")[: length // 2]
        chars[offset // 2 : offset // 2 + len(value)] = list(value)
    if card.type_flag:
        chars[124] = card.type_flag
    return "".join(chars).encode("utf-16-le")


def answer(sw3: int, data: bytes = b"") -> bytes:
    body = bytes([0, 0, sw3]) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PRE + length + body + bytes([reduce(lambda a, b: a ^ b, length + body, 0)])


class SamSimulator:
    def __init__(
        self,
        path: str,
        card: str | None = "resident",
        fault: str = "none",
        *,
        baud: int | None = None,
    ) -> None:
        """`baud`: answers take as long as on a real line at that rate (10 bits a byte); a pty
        alone passes them at once."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        self.path, self.fault, self.baud = path, fault, baud
        self.card: SyntheticCard | None = (
            None if fault == "no-card" or card is None else PEOPLE[card]
        )
        self.commands: list[bytes] = []  # every command frame received, for the tests
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random(467)  # noqa: S311 - reproducible noise, not a secret

    def present(self, key: str) -> None:
        self.card = PEOPLE[key]

    def remove(self) -> None:
        self.card = None

    def start(self) -> SamSimulator:
        self._thread = threading.Thread(target=self.serve, name="sam-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def serve(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        buffer = b""

        def feed(chunk: bytes) -> bool:
            nonlocal buffer
            buffer += chunk
            while True:
                start = buffer.find(PRE)
                if start < 0 or len(buffer) < start + 7:
                    return True
                length = int.from_bytes(buffer[start + 5 : start + 7], "big")
                end = start + 7 + length
                if len(buffer) < end:
                    return True
                command, buffer = buffer[start:end], buffer[end:]
                self.commands.append(command)
                try:
                    self._reply(fd, command[7], command[8])
                except OSError:
                    return False  # the line went away while answering

        serve_line(fd, self._stop, feed)

    def _reply(self, fd: int, cmd: int, para: int) -> None:
        card = self.card
        data = b""
        if (cmd, para) == (0x10, 0xFF) or (cmd, para) == (0x11, 0xFF):
            out = answer(0x60 if self.fault == "sam-fail" else 0x90)
        elif (cmd, para) == (0x12, 0xFF):
            out = answer(0x90, SAM_ID_BYTES)
        elif (cmd, para) == (0x20, 0x01):
            out = answer(0x9F, bytes(4)) if card else answer(0x80)
        elif (cmd, para) == (0x20, 0x02):
            out = answer(0x90, bytes(8)) if card else answer(0x81)
        elif (cmd, para) in ((0x30, 0x01), (0x30, 0x10)) and card:
            text, photo = text_block(card), b"WLf" + bytes(1021)
            if para == 0x10:
                data = b"\x01\x00\x04\x00\x04\x00" + text + photo + bytes(1024)
            else:
                data = b"\x01\x00\x04\x00" + text + photo
            out = answer(0x90, data)
            if self.fault == "bad-checksum":
                out = out[:-1] + bytes([out[-1] ^ 0xFF])
            if self.fault == "pulled":
                self.card = None
                out = out[: len(out) // 3]  # the card left while the answer was on the wire
        elif cmd == 0x30:
            out = answer(0x41)  # read failed: no card
        else:
            out = answer(0x21)  # bad command
        self._write(fd, out)

    def _write(self, fd: int, out: bytes) -> None:
        if self.fault == "noise":
            out = bytes(self._rng.randrange(256) for _ in range(3)) + out + b"\x55"
        step = 7 if self.fault == "split" else 64 if self.baud else len(out)
        for i in range(0, len(out), step):
            if self.baud:
                time.sleep(len(out[i : i + step]) * 10 / self.baud)
            view = out[i : i + step]
            while view:  # the descriptor is non-blocking: write what fits, wait for the rest
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    select.select([], [fd], [], 0.05)
            if self.fault == "split":
                time.sleep(0.001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pty")
    parser.add_argument("--card", default="resident", choices=sorted(PEOPLE))
    parser.add_argument("--fault", default="none", choices=FAULTS)
    args = parser.parse_args()
    SamSimulator(args.pty, args.card, args.fault).serve()


if __name__ == "__main__":
    main()
