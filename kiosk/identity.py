"""Who the resident is, for one session: built from a card record and validated.

An identity lives in memory for one session only. Its `repr` and `str` show no personal value,
so that it can never leak through a log line or a traceback. An expired card still yields an
identity (flagged by `is_expired`); whether an item accepts it is the item's rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from types import MappingProxyType

from devices.base import CardRecord
from kiosk.clock import today_local
from kiosk.i18n import N_, Words
from kiosk.idnumber import NumberKind, Sex, check_id_number, mask_id_number

NATIONS = {
    "01": "汉",
    "02": "蒙古",
    "03": "回",
    "04": "藏",
    "05": "维吾尔",
    "06": "苗",
    "07": "彝",
    "08": "壮",
    "09": "布依",
    "10": "朝鲜",
    "11": "满",
    "12": "侗",
    "13": "瑶",
    "14": "白",
    "15": "土家",
    "16": "哈尼",
    "17": "哈萨克",
    "18": "傣",
    "19": "黎",
    "20": "傈僳",
    "21": "佤",
    "22": "畲",
    "23": "高山",
    "24": "拉祜",
    "25": "水",
    "26": "东乡",
    "27": "纳西",
    "28": "景颇",
    "29": "柯尔克孜",
    "30": "土",
    "31": "达斡尔",
    "32": "仫佬",
    "33": "羌",
    "34": "布朗",
    "35": "撒拉",
    "36": "毛南",
    "37": "仡佬",
    "38": "锡伯",
    "39": "阿昌",
    "40": "普米",
    "41": "塔吉克",
    "42": "怒",
    "43": "乌孜别克",
    "44": "俄罗斯",
    "45": "鄂温克",
    "46": "德昂",
    "47": "保安",
    "48": "裕固",
    "49": "京",
    "50": "塔塔尔",
    "51": "独龙",
    "52": "鄂伦春",
    "53": "赫哲",
    "54": "门巴",
    "55": "珞巴",
    "56": "基诺",
    "97": "其他",
    "98": "外国血统中国籍人士",
}
LONG_TERM = "长期"


class CardType(Enum):
    RESIDENT_ID = "resident_id"
    HMT_PERMIT = "hmt_permit"
    FOREIGN_PERMANENT_2017 = "foreign_permanent_2017"
    FOREIGN_PERMANENT_2023 = "foreign_permanent_2023"
    SOCIAL_SECURITY = "social_security"
    MANUAL = "manual"  # typed on the keypad: a number, no card

    @property
    def zh(self) -> str:
        return _CARD_WORDS[self][0]

    @property
    def en(self) -> str:
        return _CARD_WORDS[self][1]

    @property
    def words(self) -> Words:
        return Words(self.zh, self.en)


_CARD_WORDS = {
    CardType.RESIDENT_ID: ("居民身份证", "resident ID card"),
    CardType.HMT_PERMIT: ("港澳台居民居住证", "Hong Kong/Macau/Taiwan residence permit"),
    CardType.FOREIGN_PERMANENT_2017: (
        "外国人永久居留身份证（2017版）",
        "foreign permanent resident ID card (2017)",
    ),
    CardType.FOREIGN_PERMANENT_2023: (
        "外国人永久居留身份证（2023版）",
        "foreign permanent resident ID card (2023)",
    ),
    CardType.SOCIAL_SECURITY: ("社会保障卡", "social security card"),
    CardType.MANUAL: ("手工输入的证件号码", "ID number typed in"),
}
_ID_CARD_FLAGS = {
    "": CardType.RESIDENT_ID,
    "J": CardType.HMT_PERMIT,
    "I": CardType.FOREIGN_PERMANENT_2017,
    "Y": CardType.FOREIGN_PERMANENT_2023,
}
_NUMBER_KINDS = {
    CardType.RESIDENT_ID: {NumberKind.RESIDENT},
    CardType.HMT_PERMIT: {NumberKind.HMT_PERMIT},
    CardType.FOREIGN_PERMANENT_2023: {NumberKind.FOREIGN_PERMANENT},
    CardType.SOCIAL_SECURITY: {
        NumberKind.RESIDENT,
        NumberKind.HMT_PERMIT,
        NumberKind.FOREIGN_PERMANENT,
    },
}


class IdentityError(ValueError):
    """A card's data cannot be a real card's. `str()` names the field, never its value."""

    resident_message = N_("卡片信息无法识别，请重新放置卡片；如仍不行，请联系工作人员。")


@dataclass(frozen=True, repr=False, eq=False)
class ResidentIdentity:
    card_type: CardType
    id_number: str
    name: str
    sex: Sex
    birth_date: date
    nation_code: str = ""
    address: str = ""
    issuer: str = ""
    valid_from: date | None = None
    valid_until: date | None = None  # None with long_term: 长期 (valid for life)
    long_term: bool = False
    name_en: str = ""
    nationality: str = ""  # GB/T 2659 three letters, for foreigners' cards
    extra: Mapping[str, str] = field(default_factory=dict)  # permit number, card number, ...

    @property
    def nation(self) -> str:
        return NATIONS.get(self.nation_code, "")

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name or self.name_en)

    def is_expired(self, on: date) -> bool:
        return not self.long_term and self.valid_until is not None and on > self.valid_until

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)

    def __repr__(self) -> str:
        return (
            f"ResidentIdentity(card_type={self.card_type.value}, id={self.masked_id}, "
            f"name={'*' * len(self.masked_name)})"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        # An identity lives in memory for one session: it must never be pickled to disk.
        raise TypeError("a resident identity cannot be serialised")


def mask_name(name: str) -> str:
    """Keep the first character (the family name, for Chinese names) and hide the rest."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def age_on(birth: date, on: date) -> int:
    """Whole years; someone born on 29 February becomes a year older on 1 March in other years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def identity_from_card(record: CardRecord, today: date | None = None) -> ResidentIdentity:
    """Validate a card record into an identity; IdentityError when the data cannot be real."""
    today = today or today_local()
    if record.kind == "social_security":
        card_type = CardType.SOCIAL_SECURITY
    elif record.kind == "id_card" and record.type_flag.strip() in _ID_CARD_FLAGS:
        card_type = _ID_CARD_FLAGS[record.type_flag.strip()]
    else:
        raise IdentityError(f"unknown card (kind {record.kind!r}, type {record.type_flag!r})")
    f = {k: v.strip() for k, v in record.fields.items()}

    def required(name: str) -> str:
        value = f.get(name, "")
        if not value:
            raise IdentityError(f"the card has no {name}")
        return value

    id_number = required("id_number")
    birth = _card_date(required("birth"), "birth")
    sex = _sex(required("sex"))
    if card_type is CardType.FOREIGN_PERMANENT_2017:
        _check_2017_card_number(id_number, birth)
    else:
        check = check_id_number(id_number, today)
        if not check.valid or check.number is None:
            raise IdentityError(f"the card's ID number is not valid ({check.code})")
        if check.kind not in _NUMBER_KINDS[card_type]:
            raise IdentityError(
                f"a {card_type.en} cannot carry a {check.kind.value if check.kind else '?'} number"
            )
        if check.birth_date != birth or check.sex != sex:
            raise IdentityError("the card's birth date or sex disagrees with its ID number")
        id_number = check.number

    if card_type is CardType.SOCIAL_SECURITY:
        valid_from_text, valid_to_text = f.get("issue_date", ""), f.get("expiry_date", "")
    else:
        valid_from_text, valid_to_text = f.get("valid_from", ""), f.get("valid_to", "")
    valid_from = _card_date(valid_from_text, "valid_from") if valid_from_text else None
    long_term = valid_to_text.startswith(LONG_TERM)
    valid_until = None if long_term or not valid_to_text else _card_date(valid_to_text, "valid_to")
    if valid_from and valid_until and valid_until < valid_from:
        raise IdentityError("the card's validity ends before it begins")

    nation_code = f.get("nation", "")
    if nation_code and nation_code not in NATIONS:
        raise IdentityError("the card's nation code is not in GB 3304")
    name = f.get("name", "")
    name_en = f.get("name_en", "")
    if not name and not name_en:
        raise IdentityError("the card has no name")
    known = {
        "id_number",
        "name",
        "name_en",
        "sex",
        "nation",
        "birth",
        "address",
        "issuer",
        "valid_from",
        "valid_to",
        "issue_date",
        "expiry_date",
        "nationality",
    }
    extra = {k: v for k, v in f.items() if k not in known and v}
    return ResidentIdentity(
        card_type=card_type,
        id_number=id_number,
        name=name,
        sex=sex,
        birth_date=birth,
        nation_code=nation_code,
        address=f.get("address", ""),
        issuer=f.get("issuer", ""),
        valid_from=valid_from,
        valid_until=valid_until,
        long_term=long_term,
        name_en=name_en,
        nationality=f.get("nationality", ""),
        extra=MappingProxyType(extra),
    )


def _card_date(text: str, name: str) -> date:
    if not re.fullmatch(r"[0-9]{8}", text):
        raise IdentityError(f"the card's {name} is not a date (YYYYMMDD)")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise IdentityError(f"the card's {name} is not a real calendar date") from None


def _sex(code: str) -> Sex:
    try:
        return Sex(code)
    except ValueError:
        raise IdentityError("the card's sex code is not in GB/T 2261.1") from None


def _check_2017_card_number(number: str, birth: date) -> None:
    # 15 characters: nationality (3 letters), place of application (2), birth YYMMDD (6),
    # sequence (2), version (1), check (1). The check algorithm is not public: not verified.
    if not re.fullmatch(r"[A-Z]{3}[0-9]{12}", number):
        raise IdentityError(
            "the card number of a 2017 foreign permanent resident card must be "
            "3 letters and 12 digits"
        )
    if number[5:11] != birth.strftime("%y%m%d"):
        raise IdentityError("the card's birth date disagrees with its card number")
