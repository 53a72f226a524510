"""Synthetic residents for the simulated readers.

Every person here is invented: clearly test names (测试一 …), numbers generated with a valid
GB 11643 check character computed below from ../shared/reference/id-cards.md. This module
deliberately does not import kiosk's validator, so a misreading of the standard cannot hide in
both places at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def with_check_character(first17: str) -> str:
    """Append the ISO 7064 MOD 11-2 check character to 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + _CHECK[total % 11]


@dataclass(frozen=True)
class SyntheticCard:
    """One card as the simulator hands it over: raw fields in the card's own spelling."""

    key: str
    kind: str  # "id_card" or "social_security"
    type_flag: str
    fields: dict[str, str] = field(default_factory=dict)


def _resident(key: str, number17: str, **fields: str) -> SyntheticCard:
    return SyntheticCard(
        key, "id_card", "", {"id_number": with_check_character(number17), **fields}
    )


PEOPLE: dict[str, SyntheticCard] = {
    card.key: card
    for card in (
        # A working-age resident, card valid for years to come.
        _resident(
            "resident",
            "11010119620517031",
            name="测试一",
            sex="1",
            nation="01",
            birth="19620517",
            address="北京市东城区测试街道示例社区1号楼2单元301室",
            issuer="北京市公安局东城分局",
            valid_from="20160301",
            valid_to="20360301",
        ),
        # An elderly resident (over 80) whose card is valid for life.
        _resident(
            "elderly",
            "31010119410228002",
            name="测试二",
            sex="2",
            nation="03",
            birth="19410228",
            address="上海市黄浦区示例路88弄6号",
            issuer="上海市公安局黄浦分局",
            valid_from="20060115",
            valid_to="长期",
        ),
        # A rare character (生僻字) in the name, born on 29 February.
        _resident(
            "rare",
            "45010219920229001",
            name="测试䶮",
            sex="1",
            nation="08",
            birth="19920229",
            address="广西壮族自治区南宁市兴宁区示例大道100号",
            issuer="南宁市公安局兴宁分局",
            valid_from="20150610",
            valid_to="20350610",
        ),
        # A card that expired: it still reads; items decide whether they accept it.
        _resident(
            "expired",
            "33010619750831004",
            name="测试四",
            sex="2",
            nation="01",
            birth="19750831",
            address="浙江省杭州市西湖区示例街道文三路1号",
            issuer="杭州市公安局西湖分局",
            valid_from="20010831",
            valid_to="20210831",
        ),
        # Hong Kong resident's residence permit (card type J).
        SyntheticCard(
            "hmt",
            "id_card",
            "J",
            {
                "id_number": with_check_character("81000019850701002"),
                "name": "测试五",
                "sex": "2",
                "birth": "19850701",
                "address": "广东省深圳市福田区示例路3号",
                "issuer": "深圳市公安局",
                "valid_from": "20240101",
                "valid_to": "20290101",
                "permit_number": "H60000001",
                "issue_count": "01",
            },
        ),
        # Foreign permanent resident, 2023 edition (card type Y): 18 digits starting with 9.
        SyntheticCard(
            "foreign",
            "id_card",
            "Y",
            {
                "id_number": with_check_character("91184019800101001"),
                "name": "测试六",
                "name_en": "TEST, SIX",
                "sex": "1",
                "birth": "19800101",
                "renewal_count": "00",
                "nationality": "USA",
                "issuer": "国家移民管理局",
                "valid_from": "20240301",
                "valid_to": "20340301",
            },
        ),
        # Foreign permanent resident, 2017 edition (card type I): 15-character card number.
        SyntheticCard(
            "foreign2017",
            "id_card",
            "I",
            {
                "id_number": "CAN" + "11" + "900615" + "01" + "1" + "1",
                "name_en": "TEST, SEVEN",
                "name": "测试七",
                "sex": "2",
                "nationality": "CAN",
                "birth": "19900615",
                "valid_from": "20180101",
                "valid_to": "20280101",
                "version": "01",
                "authority_code": "1100",
            },
        ),
        # Social security card read over PC/SC (EF05 and EF06 items).
        SyntheticCard(
            "sscard",
            "social_security",
            "",
            {
                "id_number": with_check_character("32010219551001003"),
                "name": "测试八",
                "sex": "1",
                "nation": "01",
                "birth": "19551001",
                "birthplace": "320102",
                "card_number": "A00000008",
                "card_id": "320100D15600000599110145",
                "card_version": "3.00",
                "issue_date": "20190601",
                "expiry_date": "20290601",
            },
        ),
    )
}

# A number whose check character is wrong: the card answers, but with data that cannot be real.
GARBLED = SyntheticCard(
    "garbled",
    "id_card",
    "",
    {
        **PEOPLE["resident"].fields,
        "id_number": PEOPLE["resident"].fields["id_number"][:17]
        + ("0" if PEOPLE["resident"].fields["id_number"][17] != "0" else "1"),
    },
)
