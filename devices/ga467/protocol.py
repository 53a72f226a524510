"""GA/T 467 frames, pure bytes in and bytes out.

    host to SAM:  AA AA AA 96 69 | LEN(2, big-endian) | CMD PARA | DATA... | CHK
    SAM to host:  AA AA AA 96 69 | LEN(2, big-endian) | SW1 SW2 SW3 | DATA... | CHK

LEN counts every byte after itself, CHK included; CHK is the XOR of LEN's bytes through the last
DATA byte. Serial lines are noisy: the decoder resynchronises on the preamble, accepts a frame
split across reads and ignores stray bytes after it. Errors, drawn once:

    FrameError          a frame that cannot be trusted
    ├── ChecksumError   its XOR does not match (the frame is dropped)
    └── LengthError     its length cannot be a SAM answer (the preamble is skipped)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Final

PREAMBLE: Final = b"\xaa\xaa\xaa\x96\x69"
HEADER: Final = len(PREAMBLE) + 2
MIN_LEN: Final = 4  # SW1 SW2 SW3 and CHK
MAX_LEN: Final = 4096  # the largest real answer is 2321 - 7 bytes (text, photo, fingerprint)

RESET, SAM_STATUS, SAM_ID = (0x10, 0xFF), (0x11, 0xFF), (0x12, 0xFF)
FIND_CARD, SELECT_CARD = (0x20, 0x01), (0x20, 0x02)
READ_TEXT_PHOTO, READ_NEW_ADDRESS, READ_WITH_FINGERPRINT = (0x30, 0x01), (0x30, 0x03), (0x30, 0x10)

SW3_OK, SW3_FOUND, SW3_NO_CARD, SW3_SELECT_FAILED = 0x90, 0x9F, 0x80, 0x81
SW3_WORDS: Final = {
    0x90: "success",
    0x9F: "card found",
    0x10: "checksum error in the host's frame",
    0x11: "length error in the host's frame",
    0x21: "bad command",
    0x24: "unrecognised error",
    0x31: "card could not authenticate the reader",
    0x32: "reader could not authenticate the card",
    0x33: "information verification error",
    0x40: "wrong card type",
    0x41: "read failed",
    0x47: "get-challenge failed",
    0x60: "SAM self-test failed",
    0x66: "SAM not authorised",
    0x80: "no card",
    0x81: "select card failed",
    0x91: "status 91 (meaning not published)",
}


class FrameError(ValueError):
    pass


class ChecksumError(FrameError):
    pass


class LengthError(FrameError):
    pass


def checksum(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def encode(command: tuple[int, int], data: bytes = b"") -> bytes:
    body = bytes(command) + data
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([checksum(length + body)])


@dataclass(frozen=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @property
    def words(self) -> str:
        return SW3_WORDS.get(self.sw3, f"unknown status {self.sw3:02X}")


class Decoder:
    """Feed it whatever the port gave; it returns every whole frame found so far. A bad frame
    raises its typed error, but never at the cost of good frames decoded before it: those are
    returned first and the error comes with the next call."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._error: FrameError | None = None

    def feed(self, data: bytes) -> list[Response]:
        if self._error is not None:
            error, self._error = self._error, None
            self._buffer += data
            raise error
        self._buffer += data
        out: list[Response] = []
        while True:
            try:
                response = self._next()
            except FrameError as error:
                if not out:
                    raise
                self._error = error
                return out
            if response is None:
                return out
            out.append(response)

    def _next(self) -> Response | None:
        start = self._buffer.find(PREAMBLE)
        if start < 0:
            # Keep a tail that may be the start of a preamble split across reads.
            del self._buffer[: max(0, len(self._buffer) - (len(PREAMBLE) - 1))]
            return None
        del self._buffer[:start]
        if len(self._buffer) < HEADER:
            return None
        length = int.from_bytes(self._buffer[len(PREAMBLE) : HEADER], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            del self._buffer[:1]  # not a real frame start: look for the next preamble
            raise LengthError(f"frame length {length} is not a SAM answer")
        if len(self._buffer) < HEADER + length:
            return None
        frame = bytes(self._buffer[: HEADER + length])
        del self._buffer[: HEADER + length]
        body, chk = frame[len(PREAMBLE) : -1], frame[-1]
        if checksum(body) != chk:
            raise ChecksumError(f"frame checksum {chk:02X}, computed {checksum(body):02X}")
        payload = body[2:]
        return Response(payload[0], payload[1], payload[2], payload[3:])

    @property
    def pending(self) -> int:
        return len(self._buffer)


@dataclass(frozen=True)
class CardBlocks:
    text: bytes
    photo_length: int  # the photo itself is never kept
    fingerprint_length: int = 0


def split_read(data: bytes, *, fingerprint: bool = False) -> CardBlocks:
    """The blocks of a read answer, by its own length fields (never by constants)."""
    fields = 3 if fingerprint else 2
    if len(data) < 2 * fields:
        raise LengthError("read answer shorter than its length fields")
    lengths = [int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * fields, 2)]
    if 2 * fields + sum(lengths) != len(data):
        raise LengthError(
            f"read answer of {len(data)} bytes does not match its length fields {lengths}"
        )
    text = data[2 * fields : 2 * fields + lengths[0]]
    return CardBlocks(text, lengths[1], lengths[2] if fingerprint else 0)
