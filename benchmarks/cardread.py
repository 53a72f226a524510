"""A GA/T 467 card read: through a real pty to the SAM simulator, its answers paced as on a
115200-baud line, against the time the read answer's bytes need on that line (1295 bytes, 10
bits each); and the decode of that one frame alone, against the same wire time."""

from __future__ import annotations

from typing import Any

from benchmarks.common import median_s, row
from devices.base import CardReader, Role
from devices.ga467.protocol import Decoder, split_read
from devices.registry import open_device
from devices.simulators.ga467_sam import SamSimulator, answer, text_block
from devices.simulators.people import PEOPLE
from tests.harness.services import start_pty_pair

BAUD = 115200
FRAME = answer(0x90, b"\x01\x00\x04\x00" + text_block(PEOPLE["resident"]) + b"WLf" + bytes(1021))
WIRE_S = len(FRAME) * 10 / BAUD


def card_read() -> list[dict[str, Any]]:
    assert len(FRAME) == 1295

    def decode() -> None:
        (response,) = Decoder().feed(FRAME)
        split_read(response.data)

    decode_s = median_s(decode, 200)
    pty = start_pty_pair()
    try:
        sam = SamSimulator(pty.env["KIOSK_TEST_PTY_DEVICE"], "resident", baud=BAUD).start()
        reader = open_device(f"ga467://{pty.env['KIOSK_TEST_PTY_HOST']}?baud={BAUD}", Role.READER)
        assert isinstance(reader, CardReader)
        try:

            def read() -> None:
                assert reader.read_card(timeout=5) is not None

            read_s = median_s(read, 15)
        finally:
            reader.close()
            sam.stop()
    finally:
        pty.stop()
    return [
        row(
            "ID card read via pty (paced 115200 baud) vs its bytes on the wire",
            read_s,
            WIRE_S,
            goal=1.2,
            note="the whole read: find, select and read commands and their answers",
        ),
        row("one read frame decoded vs its bytes on the wire", decode_s, WIRE_S),
    ]
