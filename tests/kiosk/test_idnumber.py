"""GB 11643 validation: verdicts and reasons for the cases people and cards actually produce."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.idnumber import NumberKind, Sex, check_id_number, mask_id_number

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("number", "sex", "birth"),
    [
        ("11010519491231002X", Sex.FEMALE, date(1949, 12, 31)),  # the standard's first example
        ("440524188001010014", Sex.MALE, date(1880, 1, 1)),  # and its second
    ],
)
def test_the_standards_own_examples_are_valid(number: str, sex: Sex, birth: date) -> None:
    result = check_id_number(number, TODAY)
    assert result.valid
    assert result.code == "ok"
    assert (result.kind, result.sex, result.birth_date) == (NumberKind.RESIDENT, sex, birth)
    assert result.number == number


def test_lower_case_x_is_the_same_as_upper_case() -> None:
    result = check_id_number("11010519491231002x", TODAY)
    assert result.valid
    assert result.number == "11010519491231002X"


def test_spaces_and_full_width_digits_people_paste_are_tolerated() -> None:
    assert check_id_number(" 110105 19491231 002X ", TODAY).valid
    assert check_id_number("１１０１０５１９４９１２３１００２Ｘ", TODAY).valid


@pytest.mark.parametrize(
    "number",
    ["110105194912310021", "110105194912310020", "440524188001010015", "44052418800101001X"],
)
def test_a_broken_check_character_is_invalid_with_its_reason(number: str) -> None:
    result = check_id_number(number, TODAY)
    assert not result.valid
    assert result.code == "check"
    assert "校验码" in result.reason_zh
    assert "check character" in result.reason_en


def test_a_single_mistyped_digit_is_caught() -> None:
    # Changing any one of the first 17 digits must break the check (MOD 11-2 guarantees it).
    good = "11010519491231002X"
    for position in range(17):
        for digit in "0123456789":
            if digit == good[position]:
                continue
            typo = good[:position] + digit + good[position + 1 :]
            result = check_id_number(typo, TODAY)
            assert not result.valid, typo


def test_30_february_does_not_exist() -> None:
    result = check_id_number("110105194902300029", TODAY)
    assert not result.valid
    assert result.code == "date"
    assert result.reason_zh == "1949年2月没有30日，号码中可能有数字输错了。"


def test_29_february_1900_does_not_exist_because_1900_was_not_a_leap_year() -> None:
    result = check_id_number("110105190002290012", TODAY)
    assert not result.valid
    assert result.code == "date"
    assert "1900年不是闰年" in result.reason_zh
    assert "not a leap year" in result.reason_en


def test_29_february_2000_exists_because_2000_was_a_leap_year() -> None:
    result = check_id_number("110101200002290026", TODAY)
    assert result.valid
    assert result.birth_date == date(2000, 2, 29)


def test_month_13_is_reported_as_a_month_problem() -> None:
    result = check_id_number("110105194913310020", TODAY)
    assert result.code == "date"
    assert "月份“13”不存在" in result.reason_zh


def test_a_birth_date_in_the_future_is_invalid() -> None:
    result = check_id_number("110105203001010011", TODAY)
    assert not result.valid
    assert result.code == "future"
    assert "还没有到" in result.reason_zh


def test_a_birth_date_of_today_is_valid_and_tomorrow_is_not() -> None:
    # 110105 2026-11-29 001 and 2026-11-30 001, check characters worked out by hand.
    assert check_id_number("110105202611290018", TODAY).valid
    assert check_id_number("11010520261130001X", TODAY).code == "future"


@pytest.mark.parametrize(
    ("number", "length"),
    [("11010519491231002", 17), ("11010519491231002X1", 19), ("1", 1), ("1101051949123100", 16)],
)
def test_wrong_lengths_say_how_long_the_number_is(number: str, length: int) -> None:
    result = check_id_number(number, TODAY)
    assert not result.valid
    assert result.code == "length"
    assert result.reason_zh == f"号码应为18位，现在是{length}位。"


def test_a_15_digit_first_generation_number_has_its_own_reason() -> None:
    result = check_id_number("110105491231002", TODAY)
    assert not result.valid
    assert result.code == "first_generation"
    assert "第一代" in result.reason_zh
    assert "2013" in result.reason_en


def test_letters_inside_the_number_are_rejected() -> None:
    result = check_id_number("1101051949123100AX", TODAY)
    assert result.code == "characters"


def test_an_empty_number_is_rejected() -> None:
    assert check_id_number("   ", TODAY).code == "empty"


def test_an_unknown_province_code_is_rejected() -> None:
    # 00 is no province; the check character is right so only the region can be at fault.
    result = check_id_number("000105194912310024", TODAY)
    assert result.code == "region"


@pytest.mark.parametrize(
    "number", ["81000019850701002X", "820000200002290013", "830000199912310040"]
)
def test_hong_kong_macau_taiwan_permit_numbers_are_valid(number: str) -> None:
    result = check_id_number(number, TODAY)
    assert result.valid
    assert result.kind is NumberKind.HMT_PERMIT


def test_a_permit_prefix_other_than_810000_820000_830000_is_rejected() -> None:
    result = check_id_number("810101198507010021", TODAY)
    assert result.code == "region"
    assert "810000" in result.reason_zh


def test_a_2023_foreign_permanent_resident_number_is_valid() -> None:
    result = check_id_number("911840198001010013", TODAY)
    assert result.valid
    assert result.kind is NumberKind.FOREIGN_PERMANENT
    assert result.sex is Sex.MALE


def test_taiwan_region_code_71_on_a_resident_number_is_accepted() -> None:
    assert check_id_number("710000196001010011", TODAY).kind is NumberKind.RESIDENT


def test_an_implausibly_old_birth_date_is_rejected() -> None:
    # 1870-01-01, check character by hand; more than 150 years before TODAY.
    result = check_id_number("44052418700101001X", TODAY)
    assert result.code == "too_old"


def test_mask_keeps_the_first_four_and_last_four_characters() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("12345678") == "********"


def test_no_verdict_shows_the_full_number() -> None:
    for number in ("11010519491231002X", "110105194912310021", "110105190002290012"):
        result = check_id_number(number, TODAY)
        assert number not in result.reason_zh + result.reason_en + result.masked


@given(st.text(max_size=40))
def test_any_text_gets_a_verdict_and_never_an_exception(text: str) -> None:
    result = check_id_number(text, TODAY)
    assert isinstance(result.valid, bool)
    assert result.reason_zh
    assert result.reason_en


@given(st.from_regex(r"\A[0-9]{17}[0-9Xx]\Z"))
def test_every_valid_verdict_agrees_with_the_check_digit_rule(number: str) -> None:
    result = check_id_number(number, TODAY)
    if result.valid:
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(d) * w for d, w in zip(number, weights, strict=False))
        assert "10X98765432"[total % 11] == number[17].upper()
