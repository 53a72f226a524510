"""Resident identities from card records: every card type, validation, expiry, age, masking."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from devices.base import CardRecord
from devices.simulators.people import PEOPLE
from kiosk.identity import (
    CardType,
    IdentityError,
    ResidentIdentity,
    age_on,
    identity_from_card,
    mask_name,
)
from kiosk.idnumber import Sex

TODAY = date(2026, 11, 29)


def record(key: str, **changes: str) -> CardRecord:
    person = PEOPLE[key]
    return CardRecord(person.kind, person.type_flag, {**person.fields, **changes}, "sim://")


def test_a_resident_id_card_becomes_an_identity_with_every_field() -> None:
    identity = identity_from_card(record("resident"), TODAY)
    assert identity.card_type is CardType.RESIDENT_ID
    assert identity.name == "测试一"
    assert identity.sex is Sex.MALE
    assert identity.nation == "汉"
    assert identity.birth_date == date(1962, 5, 17)
    assert identity.id_number == "110101196205170316"
    assert identity.address == "北京市东城区测试街道示例社区1号楼2单元301室"
    assert identity.issuer == "北京市公安局东城分局"
    assert identity.valid_from == date(2016, 3, 1)
    assert identity.valid_until == date(2036, 3, 1)
    assert not identity.long_term
    assert not identity.is_expired(TODAY)
    assert identity.age_on(TODAY) == 64


def test_a_long_term_card_never_expires() -> None:
    identity = identity_from_card(record("elderly"), TODAY)
    assert identity.long_term
    assert identity.valid_until is None
    assert not identity.is_expired(date(2099, 1, 1))
    assert identity.age_on(TODAY) == 85
    assert identity.nation == "回"


def test_an_expired_card_still_reads_and_is_flagged() -> None:
    identity = identity_from_card(record("expired"), TODAY)
    assert identity.is_expired(TODAY)
    assert not identity.is_expired(date(2021, 8, 31))  # valid through its last day
    assert identity.is_expired(date(2021, 9, 1))


def test_a_rare_character_in_the_name_is_kept_exactly() -> None:
    assert identity_from_card(record("rare"), TODAY).name == "测试\u4dae"


def test_a_hong_kong_permit_keeps_its_travel_permit_number() -> None:
    identity = identity_from_card(record("hmt"), TODAY)
    assert identity.card_type is CardType.HMT_PERMIT
    assert identity.id_number.startswith("810000")
    assert identity.extra["permit_number"] == "H60000001"
    assert identity.extra["issue_count"] == "01"


def test_a_2023_foreign_permanent_resident_card() -> None:
    identity = identity_from_card(record("foreign"), TODAY)
    assert identity.card_type is CardType.FOREIGN_PERMANENT_2023
    assert identity.name_en == "TEST, SIX"
    assert identity.nationality == "USA"


def test_a_2017_foreign_permanent_resident_card_with_its_15_character_number() -> None:
    identity = identity_from_card(record("foreign2017"), TODAY)
    assert identity.card_type is CardType.FOREIGN_PERMANENT_2017
    assert identity.id_number == "CAN119006150111"
    assert identity.birth_date == date(1990, 6, 15)


def test_a_social_security_card_uses_its_issue_and_expiry_dates() -> None:
    identity = identity_from_card(record("sscard"), TODAY)
    assert identity.card_type is CardType.SOCIAL_SECURITY
    assert identity.valid_from == date(2019, 6, 1)
    assert identity.valid_until == date(2029, 6, 1)
    assert identity.extra["card_number"] == "A00000008"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"id_number": "110101196205170317"}, r"not valid \(check\)"),
        ({"birth": "19620518"}, "disagrees with its ID number"),
        ({"sex": "2"}, "disagrees with its ID number"),
        ({"sex": "5"}, "sex code"),
        ({"birth": "1962-5-17"}, "not a date"),
        ({"valid_to": "20360231"}, "not a real calendar date"),
        ({"valid_to": "20100101"}, "ends before it begins"),
        ({"nation": "77"}, "nation code"),
        ({"name": ""}, "no name"),
        ({"id_number": ""}, "no id_number"),
        ({"id_number": "81000019850701002X"}, "cannot carry a hmt_permit number"),
    ],
)
def test_impossible_card_data_is_refused_naming_the_field(
    changes: dict[str, str], words: str
) -> None:
    with pytest.raises(IdentityError, match=words) as raised:
        identity_from_card(record("resident", **changes), TODAY)
    assert "110101196205170316" not in str(raised.value)
    assert "测试一" not in str(raised.value)


def test_an_unknown_card_type_flag_is_refused() -> None:
    bad = CardRecord("id_card", "Q", dict(PEOPLE["resident"].fields), "sim://")
    with pytest.raises(IdentityError, match="unknown card"):
        identity_from_card(bad, TODAY)


def test_repr_and_str_show_no_personal_value() -> None:
    identity = identity_from_card(record("resident"), TODAY)
    for shown in (repr(identity), str(identity), f"{identity}", repr([identity])):
        assert "测试一" not in shown
        assert "110101196205170316" not in shown
        assert "19620517" not in shown
        assert "北京市东城区" not in shown
        assert "1101**********0316" in shown


def test_a_card_record_repr_shows_field_names_only() -> None:
    shown = repr(record("resident"))
    assert "id_number" in shown
    assert "测试一" not in shown
    assert "110101196205170316" not in shown


def test_an_identity_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be serialised"):
        pickle.dumps(identity_from_card(record("resident"), TODAY))


def test_masks() -> None:
    identity = identity_from_card(record("resident"), TODAY)
    assert identity.masked_id == "1101**********0316"
    assert identity.masked_name == "测**"
    assert mask_name("测试") == "测*"
    assert mask_name("王") == "王*"
    assert mask_name("") == ""


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1946, 11, 29), date(2026, 11, 28), 79),  # the day before the 80th birthday
        (date(1946, 11, 29), date(2026, 11, 29), 80),  # on it
        (date(1992, 2, 29), date(2026, 2, 28), 33),  # born on 29 Feb: not yet in a common year
        (date(1992, 2, 29), date(2026, 3, 1), 34),  # a year older on 1 March
        (date(1992, 2, 29), date(2028, 2, 29), 36),  # and on 29 Feb in a leap year
    ],
)
def test_age_on_a_given_date(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


def test_identities_are_immutable() -> None:
    identity = identity_from_card(record("resident"), TODAY)
    with pytest.raises(AttributeError):
        identity.name = "someone else"  # type: ignore[misc]
    assert isinstance(identity, ResidentIdentity)
