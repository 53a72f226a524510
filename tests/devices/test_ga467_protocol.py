"""GA/T 467 frames and text blocks: golden bytes built by hand from the reference tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import CardDataError
from devices.ga467.protocol import (
    FIND_CARD,
    ChecksumError,
    Decoder,
    FrameError,
    LengthError,
    Response,
    encode,
    split_read,
)
from devices.ga467.textblock import parse_text
from devices.simulators.ga467_sam import text_block
from devices.simulators.people import PEOPLE

# The reference's own example: find card, 00^03^20^01 = 22.
FIND_REQUEST = bytes.fromhex("AAAAAA9669 0003 2001 22")
# Find card, success: LEN 8 (SW1 SW2 SW3, 4 data bytes, CHK); 00^08^00^00^9F = 97.
FOUND = bytes.fromhex("AAAAAA9669 0008 00009F 00000000 97")
# Find card, no card: LEN 4; 00^04^00^00^80 = 84.
NO_CARD = bytes.fromhex("AAAAAA9669 0004 000080 84")


def test_encode_matches_the_reference_example() -> None:
    assert encode(FIND_CARD) == FIND_REQUEST


def test_a_frame_decodes_to_its_status_words_and_data() -> None:
    assert Decoder().feed(FOUND) == [Response(0, 0, 0x9F, b"\x00\x00\x00\x00")]
    assert Decoder().feed(NO_CARD)[0].sw3 == 0x80


def test_noise_before_and_a_stray_byte_after_are_skipped() -> None:
    decoder = Decoder()
    assert decoder.feed(b"\x00\x13\xaa\x96" + FOUND + b"\x55") == [Response(0, 0, 0x9F, bytes(4))]
    assert decoder.feed(NO_CARD) == [Response(0, 0, 0x80, b"")]


def test_a_frame_split_across_reads_byte_by_byte() -> None:
    decoder = Decoder()
    out = []
    for byte in FOUND:
        out += decoder.feed(bytes([byte]))
    assert out == [Response(0, 0, 0x9F, bytes(4))]


def test_a_bad_checksum_raises_and_the_next_frame_still_decodes() -> None:
    decoder = Decoder()
    with pytest.raises(ChecksumError):
        decoder.feed(FOUND[:-1] + b"\x00")
    assert decoder.feed(NO_CARD)[0].sw3 == 0x80


def test_a_good_frame_before_a_bad_one_is_not_lost() -> None:
    decoder = Decoder()
    assert decoder.feed(NO_CARD + FOUND[:-1] + b"\x00") == [Response(0, 0, 0x80, b"")]
    with pytest.raises(ChecksumError):
        decoder.feed(b"")


def test_an_impossible_length_raises_and_resynchronises() -> None:
    decoder = Decoder()
    with pytest.raises(LengthError):
        decoder.feed(bytes.fromhex("AAAAAA9669 0002 00") + NO_CARD)
    assert decoder.feed(b"")[0].sw3 == 0x80


def test_read_answers_are_split_by_their_own_length_fields() -> None:
    text = bytes(range(256))
    blocks = split_read(b"\x01\x00\x04\x00" + text + b"WLf" + bytes(1021))
    assert (blocks.text, blocks.photo_length) == (text, 1024)
    with_fingerprint = split_read(
        b"\x01\x00\x04\x00\x02\x00" + text + bytes(1024 + 512), fingerprint=True
    )
    assert (with_fingerprint.photo_length, with_fingerprint.fingerprint_length) == (1024, 512)
    with pytest.raises(LengthError):
        split_read(b"\x01\x00\x04\x00" + text)  # the photo is missing


def resident_block() -> bytes:
    """测试二's card, written by hand at the reference's offsets (UCS-2 LE, space padded)."""
    chars = [" "] * 128
    for offset, value in (
        (0, "测试二"),
        (30, "2"),
        (32, "03"),
        (36, "19410228"),
        (52, "上海市黄浦区示例路88弄6号"),
        (122, "310101194102280027"),
        (158, "上海市公安局黄浦分局"),
        (188, "20060115"),
        (204, "长期"),
    ):
        chars[offset // 2 : offset // 2 + len(value)] = list(value)
    return "".join(chars).encode("utf-16-le")


def test_a_resident_text_block_with_long_term_validity() -> None:
    flag, fields = parse_text(resident_block())
    assert flag == ""
    assert fields == {
        "name": "测试二",
        "sex": "2",
        "nation": "03",
        "birth": "19410228",
        "address": "上海市黄浦区示例路88弄6号",
        "id_number": "310101194102280027",
        "issuer": "上海市公安局黄浦分局",
        "valid_from": "20060115",
        "valid_to": "长期",
    }


@pytest.mark.parametrize("key", ["resident", "elderly", "rare", "hmt", "foreign", "foreign2017"])
def test_the_simulators_blocks_and_the_parser_agree(key: str) -> None:
    # Two independent readings of the reference: the simulator writes, the driver reads.
    person = PEOPLE[key]
    flag, fields = parse_text(text_block(person))
    assert flag == person.type_flag
    assert fields == {k: v for k, v in person.fields.items() if v}


def test_an_unknown_card_type_flag_is_bad_data() -> None:
    block = bytearray(resident_block())
    block[248:250] = "Q".encode("utf-16-le")
    with pytest.raises(CardDataError, match="unknown card type flag"):
        parse_text(bytes(block))


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_any_bytes_give_frames_or_frame_errors_only(chunks: list[bytes]) -> None:
    decoder = Decoder()
    for chunk in chunks:
        try:
            for response in decoder.feed(chunk):
                assert isinstance(response, Response)
        except FrameError:
            pass
    assert decoder.pending <= sum(map(len, chunks))


@settings(max_examples=300)
@given(st.integers(0, len(FOUND) - 1), st.integers(0, 255), st.integers(1, len(FOUND)))
def test_mutated_frames_give_frames_or_frame_errors_only(at: int, byte: int, cut: int) -> None:
    mutated = FOUND[:at] + bytes([byte]) + FOUND[at + 1 :]
    decoder = Decoder()
    try:
        decoder.feed(mutated[:cut])
        decoder.feed(mutated[cut:] + NO_CARD)
    except FrameError:
        pass


@given(st.binary(min_size=256, max_size=256))
def test_any_text_block_parses_or_is_bad_card_data(block: bytes) -> None:
    try:
        flag, fields = parse_text(block)
    except CardDataError:
        return
    assert flag in ("", "J", "I", "Y")
    assert all(isinstance(v, str) for v in fields.values())
