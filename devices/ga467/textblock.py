"""The 256-byte text block of a card read, UCS-2 little-endian padded with spaces.

The card-type flag is the character at offset 248: space or zero for a resident ID card, J for a
Hong Kong/Macau/Taiwan residence permit, I for the 2017 foreign permanent residence card, Y for
the 2023 one. Layouts are data: (field, offset, length in bytes), from the reference; the field
names are those of devices.base.CardRecord. The validity end may read 长期 (long-term).
"""

from __future__ import annotations

from typing import Final

from devices.errors import CardDataError

TEXT_LENGTH: Final = 256
FLAG_OFFSET: Final = 248

Layout = tuple[tuple[str, int, int], ...]
RESIDENT: Final[Layout] = (
    ("name", 0, 30),
    ("sex", 30, 2),
    ("nation", 32, 4),
    ("birth", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)
HMT_PERMIT: Final[Layout] = (  # J
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
)
FOREIGN_2017: Final[Layout] = (  # I
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
)
FOREIGN_2023: Final[Layout] = (  # Y; fields after the number follow the resident layout
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
)
LAYOUTS: Final = {"": RESIDENT, "J": HMT_PERMIT, "I": FOREIGN_2017, "Y": FOREIGN_2023}


def parse_text(block: bytes) -> tuple[str, dict[str, str]]:
    """The card-type flag and the fields of a text block; CardDataError when it cannot be."""
    if len(block) != TEXT_LENGTH:
        raise CardDataError(f"text block of {len(block)} bytes, not {TEXT_LENGTH}")
    try:
        text = block.decode("utf-16-le")
    except UnicodeDecodeError:
        raise CardDataError("text block is not UCS-2") from None
    flag = text[FLAG_OFFSET // 2].strip(" \x00")
    layout = LAYOUTS.get(flag)
    if layout is None:
        raise CardDataError(f"unknown card type flag {flag!r}")
    fields = {}
    for name, offset, length in layout:
        value = text[offset // 2 : (offset + length) // 2].strip(" \x00")
        if value:
            fields[name] = value
    return flag, fields
