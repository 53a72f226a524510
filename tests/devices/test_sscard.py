"""Social security card APDUs against the virtual card's responder (no pcscd needed here)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import CardDataError
from devices.pcsc.sscard import SELECT_SSSE, PinRequired, read_card
from devices.simulators.sscard import SocialSecurityCard

EXPECTED = {
    "id_number": "320102195510010037",
    "name": "测试八",
    "sex": "1",
    "nation": "01",
    "birth": "19551001",
    "card_number": "A00000008",
    "card_version": "3.00",
    "issue_date": "20190601",
    "expiry_date": "20290601",
}


def transmit_to(card: SocialSecurityCard):  # type: ignore[no-untyped-def]
    def transmit(apdu: list[int]) -> tuple[list[int], int, int]:
        answer = card.respond(bytes(apdu))
        return list(answer[:-2]), answer[-2], answer[-1]

    return transmit


def test_the_ssse_select_is_the_references_bytes() -> None:
    assert bytes(SELECT_SSSE) == bytes.fromhex("00A404000F 7378312E73682E C9E7BBE1B1A3D5CF")


@pytest.mark.parametrize(
    "quirks", [(), ("61xx",), ("6cxx",), ("p1-00",), ("61xx", "6cxx", "p1-00")]
)
def test_every_field_reads_whatever_the_card_quirks(quirks: tuple[str, ...]) -> None:
    card = SocialSecurityCard("sscard", quirks)
    fields = read_card(transmit_to(card))
    assert {k: fields[k] for k in EXPECTED} == EXPECTED
    commands = [c.hex() for c in card.commands]
    if "61xx" in quirks:
        assert any(c.startswith("00c00000") for c in commands)  # GET RESPONSE was used
    if "6cxx" in quirks:
        assert "00b2010412" in commands  # EF05 record 1 again with the corrected Le (16 + 2)
    if "p1-00" in quirks:
        assert "00a4000002ef05" in commands


def test_a_card_that_needs_a_pin_sends_the_resident_to_the_id_card() -> None:
    with pytest.raises(PinRequired) as raised:
        read_card(transmit_to(SocialSecurityCard("sscard", ("pin",))))
    assert raised.value.resident_message == "这张社保卡需要输入密码才能读取，请改用身份证。"


def test_a_card_without_the_ssse_application_is_not_a_social_security_card() -> None:
    def transmit(apdu: list[int]) -> tuple[list[int], int, int]:
        return [], 0x6A, 0x82

    with pytest.raises(CardDataError, match="not a social security card"):
        read_card(transmit)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.binary(max_size=40), st.integers(0, 255), st.integers(0, 255)),
        min_size=1,
        max_size=40,
    )
)
def test_any_answers_give_fields_or_card_data_errors_and_never_hang(
    answers: list[tuple[bytes, int, int]],
) -> None:
    calls = iter(answers * 10)

    def transmit(apdu: list[int]) -> tuple[list[int], int, int]:
        data, sw1, sw2 = next(calls, (b"", 0x6F, 0x00))
        return list(data), sw1, sw2

    try:
        fields = read_card(transmit)
    except CardDataError:
        return
    assert all(isinstance(v, str) for v in fields.values())
