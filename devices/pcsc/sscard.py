"""The social security card (社会保障卡) as APDUs, pure: give it a `transmit` and it reads the
two files readable without a PIN, EF05 (issuer data) and EF06 (holder data), under SSSE.

Real cards differ, and all of these are accepted: SELECT answered 61xx (fetch with GET
RESPONSE), READ RECORD answered 6Cxx (repeat with that Le), SELECT EF with P1=02 or P1=00, and
EF06 behind a PIN (6982), which is reported in words that send the resident to the ID card.
Bounded: no status word makes this loop for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from devices.errors import N_, CardDataError

Transmit = Callable[[list[int]], tuple[list[int], int, int]]

SELECT_SSSE: Final = [0x00, 0xA4, 0x04, 0x00, 0x0F, *b"sx1.sh.", *"社会保障".encode("gbk")]
EF05, EF06 = 0xEF05, 0xEF06
# tag: (file, length) from the reference; the record number of a tag is its place in its file.
ITEMS: Final = {
    0x01: (EF05, 16),
    0x02: (EF05, 1),
    0x03: (EF05, 4),
    0x04: (EF05, 12),
    0x05: (EF05, 4),
    0x06: (EF05, 4),
    0x07: (EF05, 9),
    0x08: (EF06, 18),
    0x09: (EF06, 30),
    0x0A: (EF06, 1),
    0x0B: (EF06, 1),
    0x0C: (EF06, 3),
    0x0D: (EF06, 4),
}
FIRST_TAG: Final = {EF05: 0x01, EF06: 0x08}
MAX_EXCHANGES: Final = 4


class PinRequired(CardDataError):
    default_resident_message = N_("这张社保卡需要输入密码才能读取，请改用身份证。")


def exchange(transmit: Transmit, apdu: list[int]) -> tuple[list[int], int, int]:
    """One command, following 61xx (GET RESPONSE) and 6Cxx (corrected Le), bounded."""
    data, sw1, sw2 = transmit(apdu)
    for _ in range(MAX_EXCHANGES):
        if sw1 == 0x61:
            more, sw1, sw2 = transmit([0x00, 0xC0, 0x00, 0x00, sw2])
            data = data + more
        elif sw1 == 0x6C and len(apdu) == 5:
            apdu = [*apdu[:4], sw2]
            data, sw1, sw2 = transmit(apdu)
        else:
            return data, sw1, sw2
    raise CardDataError("the card kept asking for more exchanges")


def _ok(sw1: int, sw2: int) -> bool:
    return (sw1, sw2) == (0x90, 0x00)


def _select_file(transmit: Transmit, fid: int) -> None:
    high, low = fid >> 8, fid & 0xFF
    sw1 = sw2 = 0
    for p1 in (0x02, 0x00):  # both variants are seen in the field
        _, sw1, sw2 = exchange(transmit, [0x00, 0xA4, p1, 0x00, 0x02, high, low])
        if _ok(sw1, sw2):
            return
        if (sw1, sw2) == (0x69, 0x82):
            raise PinRequired(f"file {fid:04X} needs a PIN (6982)")
    raise CardDataError(f"the card refused to select file {fid:04X} ({sw1:02X}{sw2:02X})")


def _read_item(transmit: Transmit, tag: int) -> bytes:
    fid, length = ITEMS[tag]
    record = tag - FIRST_TAG[fid] + 1
    data, sw1, sw2 = exchange(transmit, [0x00, 0xB2, record, 0x04, length + 2])
    if (sw1, sw2) == (0x69, 0x82):
        raise PinRequired(f"item {tag:02X} needs a PIN (6982)")
    if not _ok(sw1, sw2):
        raise CardDataError(f"reading item {tag:02X} failed ({sw1:02X}{sw2:02X})")
    if len(data) < 2 or data[0] != tag or data[1] != len(data) - 2:
        raise CardDataError(f"item {tag:02X} is not a well-formed TLV")
    return bytes(data[2:])


def bcd_date(value: bytes) -> str:
    digits = value.hex()
    if len(digits) != 8 or not digits.isdigit():
        raise CardDataError("a date on the card is not BCD YYYYMMDD")
    return digits


def ascii_text(value: bytes) -> str:
    try:
        return value.decode("ascii").strip(" \x00")
    except UnicodeDecodeError:
        raise CardDataError("a text on the card is not ASCII") from None


def gbk_text(value: bytes) -> str:
    try:
        return value.rstrip(b"\x00 ").decode("gbk").strip()
    except UnicodeDecodeError:
        raise CardDataError("the name on the card is not GBK") from None


def read_card(transmit: Transmit) -> dict[str, str]:
    """The card's fields as devices.base.CardRecord spells them."""
    _, sw1, sw2 = exchange(transmit, list(SELECT_SSSE))
    if not _ok(sw1, sw2):
        raise CardDataError(f"not a social security card (SELECT SSSE answered {sw1:02X}{sw2:02X})")
    _select_file(transmit, EF05)
    fields = {
        "card_id": _read_item(transmit, 0x01).hex().upper(),
        "card_version": ascii_text(_read_item(transmit, 0x03)),
        "issue_date": bcd_date(_read_item(transmit, 0x05)),
        "expiry_date": bcd_date(_read_item(transmit, 0x06)),
        "card_number": ascii_text(_read_item(transmit, 0x07)),
    }
    _select_file(transmit, EF06)
    nation = _read_item(transmit, 0x0B)
    fields.update(
        {
            "id_number": ascii_text(_read_item(transmit, 0x08)),
            "name": gbk_text(_read_item(transmit, 0x09)),
            "sex": ascii_text(_read_item(transmit, 0x0A)),
            "nation": nation.hex(),  # one byte read as two hex digits: the GB 3304 code
            "birth": bcd_date(_read_item(transmit, 0x0D)),
        }
    )
    return fields
