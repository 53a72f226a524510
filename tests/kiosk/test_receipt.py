"""Receipts: exact ESC/POS bytes for small layouts, and the rules every receipt keeps."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.base import CardRecord
from devices.simulators.people import PEOPLE
from kiosk.catalog import load_catalog
from kiosk.clock import SHANGHAI
from kiosk.documents.compose import transaction_receipt
from kiosk.documents.receipt import Line, Receipt, raster, render_escpos, render_text, wrap
from kiosk.identity import ResidentIdentity, identity_from_card

SMALL = Receipt(
    "K1-1",
    (
        Line("凭条", "title", "center"),
        Line("编号：K1-1"),
        Line(style="rule"),
        Line("¥12"),
        Line("http://x/t/1", "qr", "center"),
    ),
)

SMALL_58_NATIVE = bytes.fromhex(
    "1b40 1c26"  # ESC @ init, FS & Chinese mode
    "1b6101 1d2111 c6becc f5 0a 1d2100"  # centred, double size: 凭条
    "1b6100 b1e0bac5a3ba4b312d31 0a"  # 编号：K1-1
    "1b6100" + "2d" * 32 + "0a"  # a rule of 32 columns
    "1b6100 a3a43132 0a"  # ¥12 sent as the full-width ￥ (A3 A4), not a 4-byte sequence
    "1b6101"  # centred QR, GS ( k:
    "1d286b040031413200"  # fn 165 model 2
    "1d286b0300314306"  # fn 167 module 6 dots
    "1d286b0300314531"  # fn 169 error correction M
    "1d286b0f00315030"
    + b"http://x/t/1".hex()  # fn 180 store 12 bytes (+3)
    + "1d286b0300315130"  # fn 181 print
    "0a"
    "1b6100 1b6404 1d5601"  # left, feed 4 lines, partial cut
)


def test_a_small_58mm_receipt_is_exactly_these_bytes() -> None:
    assert render_escpos(SMALL, 58) == SMALL_58_NATIVE


def test_the_80mm_layout_differs_only_in_the_rule_width() -> None:
    expected = SMALL_58_NATIVE.replace(b"-" * 32, b"-" * 48)
    assert render_escpos(SMALL, 80) == expected


def test_the_raster_fallback_replaces_only_the_qr() -> None:
    native = render_escpos(SMALL, 58)
    fallback = render_escpos(SMALL, 58, native_qr=False)
    qr_start = native.index(b"\x1d(k")
    assert fallback[:qr_start] == native[:qr_start]
    assert b"\x1d(k" not in fallback
    assert fallback[qr_start : qr_start + 4] == b"\x1dv0\x00"
    assert fallback.endswith(b"\x1b\x61\x00\x1b\x64\x04\x1d\x56\x01")


def test_raster_packs_modules_msb_first_scaled_to_whole_dots() -> None:
    matrix = [[True, False], [False, True]]
    assert raster(matrix, max_dots=4) == bytes.fromhex("1d763000 0100 0400 c0c0 3030")


def test_the_plain_text_rendering_of_the_same_receipt() -> None:
    assert render_text(SMALL, 58) == (
        "            凭 条\n编号：K1-1\n" + "-" * 32 + "\n￥12\n       [QR] http://x/t/1\n"
    )


def test_lines_of_only_full_width_punctuation_and_rare_characters_stay_chinese() -> None:
    receipt = Receipt("K", (Line("——————"), Line("测试\u4dae"), Line("测试\U00020bb7")))
    data = render_escpos(receipt, 58)
    assert b"\xa1\xaa" * 6 + b"\n" in data  # ——————, GB18030 two-byte, not "?"
    assert "测试".encode("gb18030") + b"\xa1\xfe\n" in data  # 〓 for a character printers lack
    assert b"?" not in data


def test_wrapping_counts_chinese_characters_as_two_columns() -> None:
    assert wrap("一二三四五六七八九十", 8) == ["一二三四", "五六七八", "九十"]
    assert wrap("abc一二三", 6) == ["abc一", "二三"]


def resident() -> ResidentIdentity:
    person = PEOPLE["elderly"]
    return identity_from_card(CardRecord(person.kind, person.type_flag, dict(person.fields), "x"))


def transaction(paper: int = 58) -> bytes:
    catalog = load_catalog()
    receipt = transaction_receipt(
        number="K1-20261129-00007",
        item=catalog["old-age-allowance"],
        identity=resident(),
        values={"payment_method": "social_security_card", "phone": "13800138000"},
        hall_name="示例社区党群服务中心",
        at=datetime(2026, 11, 29, 9, 5, tzinfo=SHANGHAI),
        demo=False,
        track_url="https://zwfw.example.gov.cn/track/K1-20261129-00007",
    )
    return render_escpos(receipt, paper)


@pytest.mark.parametrize("paper", [58, 80])
def test_a_transaction_receipt_masks_the_resident_and_links_the_transaction(paper: int) -> None:
    data = transaction(paper)
    assert data.startswith(b"\x1b@\x1c&")
    text = data.decode("gb18030", errors="replace")
    assert "310101194102280027" not in text
    assert "3101**********0027" in text
    assert "测试二" not in text
    assert "测**" in text
    assert "13800138000" not in text
    assert "138****8000" in text
    assert "上海市黄浦区" not in text  # no address on a receipt
    url = b"https://zwfw.example.gov.cn/track/K1-20261129-00007"
    assert b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url in data
    assert data.endswith(b"\x1dV\x01")
    assert "发放方式：发放到社保卡" in text
    assert "办理状态：已受理，待审核\n" in text


@settings(max_examples=60)
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_fuzzed_text_never_crashes_and_never_leaves_a_question_mark(text: str) -> None:
    receipt = Receipt("K", (Line(text, "title"), Line(text), Line(text, "heading", "right")))
    data = render_escpos(receipt, 58)
    assert data.count(b"?") == text.count("?") * 3
    for line in render_text(receipt, 80).splitlines():
        assert sum(1 if ord(c) < 0x80 else 2 for c in line) <= 48
