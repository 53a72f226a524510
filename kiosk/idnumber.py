"""Citizen ID numbers (公民身份号码, GB 11643-1999), checked offline.

18 characters: a 6-digit region code, the birth date YYYYMMDD, a 3-digit sequence (odd for men,
even for women) and an ISO 7064 MOD 11-2 check character. Hong Kong, Macau and Taiwan residence
permits (810000 / 820000 / 830000) and the 2023 foreign permanent-residence card (starting with
9) use the same structure and check. Region codes below the province are revised yearly and old
ones stay valid on old cards, so only the province prefix is checked.

`check_id_number` never raises on any input: it returns a verdict with a reason in words, in
Chinese and English, and the number masked for anywhere it may be shown or logged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import Enum

from kiosk.clock import today_local

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
OLDEST_PLAUSIBLE_AGE = 150

PROVINCES = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
    "71": "台湾",
}
PERMIT_PREFIXES = {"810000": "香港", "820000": "澳门", "830000": "台湾"}


class NumberKind(Enum):
    RESIDENT = "resident"  # 居民身份证号码
    HMT_PERMIT = "hmt_permit"  # 港澳台居民居住证
    FOREIGN_PERMANENT = "foreign_permanent"  # 外国人永久居留身份证 (2023)


KIND_WORDS = {
    NumberKind.RESIDENT: ("居民身份证号码", "resident ID number"),
    NumberKind.HMT_PERMIT: (
        "港澳台居民居住证号码",
        "Hong Kong/Macau/Taiwan residence permit number",
    ),
    NumberKind.FOREIGN_PERMANENT: (
        "外国人永久居留身份证号码",
        "foreign permanent resident ID number",
    ),
}


class Sex(Enum):
    """GB/T 2261.1 codes."""

    UNKNOWN = "0"
    MALE = "1"
    FEMALE = "2"
    UNSTATED = "9"

    @property
    def zh(self) -> str:
        return {"0": "未知", "1": "男", "2": "女", "9": "未说明"}[self.value]

    @property
    def en(self) -> str:
        return {"0": "unknown", "1": "male", "2": "female", "9": "not stated"}[self.value]


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one number. `code` is stable for programs; the reasons are for people."""

    valid: bool
    code: (
        str  # ok, empty, first_generation, length, characters, region, date, future, too_old, check
    )
    reason_zh: str
    reason_en: str
    masked: str
    kind: NumberKind | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    number: str | None = None  # normalised (upper-case X); only set when valid


def mask_id_number(text: str) -> str:
    """First 4 and last 4 characters, the rest as *; short inputs are fully masked."""
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def check_character(first17: str) -> str:
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise(text: str) -> str:
    # NFKC turns full-width digits (１２３) into ASCII; spaces and hyphens people type are dropped.
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-").upper()


def check_id_number(text: str, today: date | None = None) -> IdCheck:
    today = today or today_local()
    number = normalise(text)
    masked = mask_id_number(number)

    def invalid(code: str, zh: str, en: str) -> IdCheck:
        return IdCheck(False, code, zh, en, masked)

    if not number:
        return invalid("empty", "没有输入号码。", "No number was given.")
    if len(number) == 15 and number.isdigit():
        return invalid(
            "first_generation",
            "这是15位的第一代身份证号码，2013年起已不能作为身份证件使用，请使用18位号码。",
            "This is a 15-digit first-generation ID number; these stopped being valid "
            "identity documents in 2013. Please use the 18-digit number.",
        )
    if len(number) != 18:
        return invalid(
            "length",
            f"号码应为18位，现在是{len(number)}位。",
            f"The number must have 18 characters; this one has {len(number)}.",
        )
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        return invalid(
            "characters",
            "号码前17位只能是数字，最后一位是数字或字母X。",
            "The first 17 characters must be digits and the last a digit or X.",
        )

    kind = _kind_of(number)
    if kind is None:
        if number[:2] in ("81", "82", "83"):
            return invalid(
                "region",
                "港澳台居民居住证号码的前6位应为810000、820000或830000。",
                "A Hong Kong/Macau/Taiwan permit number starts with 810000, 820000 or 830000.",
            )
        return invalid(
            "region",
            f"前两位“{number[:2]}”不是任何省级地区的代码。",
            f"The first two digits ({number[:2]}) are not a province code.",
        )

    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    try:
        birth = date(year, month, day)
    except ValueError:
        return invalid("date", *_impossible_date_reasons(year, month, day))
    if birth > today:
        return invalid(
            "future",
            f"出生日期{_zh_date(birth)}还没有到，号码中可能有数字输错了。",
            f"The birth date {birth.isoformat()} is in the future; a digit may have been mistyped.",
        )
    if today.year - birth.year > OLDEST_PLAUSIBLE_AGE:
        return invalid(
            "too_old",
            f"出生日期{_zh_date(birth)}距今超过{OLDEST_PLAUSIBLE_AGE}年，号码中可能有数字输错了。",
            f"The birth date {birth.isoformat()} is more than {OLDEST_PLAUSIBLE_AGE} "
            "years ago; a digit may have been mistyped.",
        )
    if check_character(number[:17]) != number[17]:
        return invalid(
            "check",
            "最后一位校验码与前17位不符，号码中可能有数字输错了，请核对。",
            "The check character (the last one) does not match the first 17 digits; "
            "a digit may have been mistyped.",
        )

    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    kind_zh, kind_en = KIND_WORDS[kind]
    return IdCheck(
        True,
        "ok",
        f"号码有效：{kind_zh}，{sex.zh}，{_zh_date(birth)}出生。",
        f"Valid {kind_en}: {sex.en}, born {birth.isoformat()}.",
        masked,
        kind,
        birth,
        sex,
        number,
    )


def _kind_of(number: str) -> NumberKind | None:
    if number[:6] in PERMIT_PREFIXES:
        return NumberKind.HMT_PERMIT
    if number[0] == "9":
        return NumberKind.FOREIGN_PERMANENT
    if number[:2] in PROVINCES:
        return NumberKind.RESIDENT
    return None


def _zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _impossible_date_reasons(year: int, month: int, day: int) -> tuple[str, str]:
    shown = f"{year:04d}-{month:02d}-{day:02d}"
    if not 1 <= month <= 12:
        return (
            f"出生日期中的月份“{month:02d}”不存在，号码中可能有数字输错了。",
            f"The birth date {shown} has no month {month:02d}; a digit may have been mistyped.",
        )
    if month == 2 and day == 29:
        return (
            f"{year}年不是闰年，没有2月29日，号码中可能有数字输错了。",
            f"{year} was not a leap year, so it had no 29 February; "
            "a digit may have been mistyped.",
        )
    return (
        f"{year}年{month}月没有{day}日，号码中可能有数字输错了。",
        f"The birth date {shown} does not exist; a digit may have been mistyped.",
    )
