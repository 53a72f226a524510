"""A virtual social security card (社会保障卡) for vsmartcard's vpcd driver: a real pcscd and
pyscard talk to it as to a card in a reader. Written from ../shared/reference/id-cards.md,
section 2, sharing no code with the driver.

Quirks real cards show, each a switch: "61xx" (SELECT answered 61xx, to be fetched with GET
RESPONSE), "6cxx" (READ RECORD with a wrong Le answered 6Cxx), "p1-00" (SELECT EF only with
P1=00), "pin" (EF06 needs a PIN: 6982).

    python -m devices.simulators.sscard --port 35963 --card sscard --quirk 61xx --quirk 6cxx
"""

from __future__ import annotations

import argparse
import signal

from devices.simulators.people import PEOPLE, SyntheticCard
from devices.simulators.vpcd import VirtualCard

SSSE_NAME = b"sx1.sh." + "社会保障".encode("gbk")
ATR = bytes.fromhex("3B6D00000081544D3F86000000000000")  # a plausible ATR; no real card's
QUIRKS = ("61xx", "6cxx", "p1-00", "pin")
OK = b"\x90\x00"


def _bcd(digits: str, size: int) -> bytes:
    return bytes.fromhex(digits.ljust(2 * size, "F")[: 2 * size])


def items(card: SyntheticCard) -> dict[int, bytes]:
    f = card.fields
    card_id = bytes.fromhex(f.get("card_id", "")).ljust(16, b"\x00")[:16]
    return {
        0x01: card_id,
        0x02: b"3",
        0x03: f.get("card_version", "3.00").encode()[:4],
        0x04: bytes(12),
        0x05: _bcd(f["issue_date"], 4),
        0x06: _bcd(f["expiry_date"], 4),
        0x07: f["card_number"].encode()[:9].ljust(9, b" "),
        0x08: f["id_number"].encode(),
        0x09: f["name"].encode("gbk").ljust(30, b"\x00"),
        0x0A: f["sex"].encode(),
        0x0B: bytes([int(f.get("nation", "01"), 16)]),
        0x0C: _bcd(f.get("birthplace", ""), 3),
        0x0D: _bcd(f["birth"], 4),
    }


class SocialSecurityCard:
    def __init__(self, card: str = "sscard", quirks: tuple[str, ...] = ()) -> None:
        unknown = set(quirks) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)} (known: {', '.join(QUIRKS)})")
        self.items = items(PEOPLE[card])
        self.quirks = set(quirks)
        self.selected_app = False
        self.file = 0
        self.pending = b""
        self.commands: list[bytes] = []

    def respond(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        cla, ins, p1, p2 = apdu[:4]
        if (cla, ins, p1, p2) == (0x00, 0xA4, 0x04, 0x00):
            if apdu[5 : 5 + apdu[4]] != SSSE_NAME:
                return b"\x6a\x82"  # file not found
            self.selected_app = True
            return self._fci(b"\x6f\x09\x84\x07" + b"sx1.sh.")
        if ins == 0xA4 and len(apdu) >= 7 and apdu[4] == 2:
            if not self.selected_app:
                return b"\x69\x85"
            if "p1-00" in self.quirks and p1 != 0x00:
                return b"\x6a\x86"  # incorrect P1 P2
            fid = int.from_bytes(apdu[5:7], "big")
            if fid not in (0xEF05, 0xEF06):
                return b"\x6a\x82"
            if fid == 0xEF06 and "pin" in self.quirks:
                return b"\x69\x82"  # security status not satisfied
            self.file = fid
            return self._fci(b"\x62\x04\x83\x02" + apdu[5:7])
        if ins == 0xB2 and p2 == 0x04:
            first = 0x01 if self.file == 0xEF05 else 0x08
            tag = first + p1 - 1
            value = self.items.get(tag)
            if not self.file or value is None or (self.file == 0xEF05) != (tag <= 0x07):
                return b"\x6a\x83"  # record not found
            tlv = bytes([tag, len(value)]) + value
            le = apdu[4] if len(apdu) > 4 else 0
            if "6cxx" in self.quirks and le != len(tlv):
                return bytes([0x6C, len(tlv)])
            return tlv + OK
        if (ins, p1, p2) == (0xC0, 0x00, 0x00):
            data, self.pending = self.pending[: apdu[4]], self.pending[apdu[4] :]
            return data + OK
        return b"\x6d\x00"  # instruction not supported

    def _fci(self, fci: bytes) -> bytes:
        if "61xx" in self.quirks:
            self.pending = fci
            return bytes([0x61, len(fci)])
        return OK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=35963, help="vpcd's port (the reader)")
    parser.add_argument("--card", default="sscard", choices=sorted(PEOPLE))
    parser.add_argument("--quirk", action="append", default=[], choices=QUIRKS)
    args = parser.parse_args()
    card = SocialSecurityCard(args.card, tuple(args.quirk))
    with VirtualCard(args.port, ATR, card.respond):
        signal.sigwait({signal.SIGINT, signal.SIGTERM})


if __name__ == "__main__":
    main()
