"""What is committed to the outbox for a transaction and for a rating (好差评).

The transaction carries everything the platform needs to handle the matter, the applicant's
full identity included. Its personal part (applicant and answers) is stored sealed with
AES-GCM in the outbox; the rest (item, kiosk, demo) stays readable for staff. A rating
carries no personal data at all: it names the transaction it rates, its level, and whether the
resident agreed to be contacted about a poor rating.

Payloads are a pure function of what the resident chose, with no timestamp: a retry under the
same idempotency key must produce the same bytes (the outbox refuses a key reused for other
content). The time of a row is the outbox's created_at, set once at the first commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from kiosk.identity import CardType, ResidentIdentity
from kiosk.idnumber import Sex
from kiosk.session import RATING_LEVELS, Session, SessionError

PAYLOAD_SCHEMA: Final = 1
POOR_LEVELS: Final = (1, 2)  # 不满意, 非常不满意: only then is contact consent asked


def applicant(identity: ResidentIdentity) -> dict[str, Any]:
    return {
        "card_type": identity.card_type.value,
        "id_number": identity.id_number,
        "name": identity.name,
        "name_en": identity.name_en,
        "sex": identity.sex.value,
        "birth_date": identity.birth_date.isoformat(),
        "nation_code": identity.nation_code,
        "nationality": identity.nationality,
        "address": identity.address,
        "card_valid_until": (
            "long_term"
            if identity.long_term
            else identity.valid_until.isoformat()
            if identity.valid_until
            else ""
        ),
    }


def identity_from_applicant(data: Mapping[str, Any]) -> ResidentIdentity:
    """The identity a transaction was made for, back from its sealed applicant record (for a
    reprint); the inverse of applicant()."""
    valid = str(data.get("card_valid_until", ""))
    return ResidentIdentity(
        card_type=CardType(data["card_type"]),
        id_number=str(data["id_number"]),
        name=str(data.get("name", "")),
        sex=Sex(data["sex"]),
        birth_date=date.fromisoformat(data["birth_date"]),
        nation_code=str(data.get("nation_code", "")),
        address=str(data.get("address", "")),
        valid_until=date.fromisoformat(valid) if valid not in ("", "long_term") else None,
        long_term=valid == "long_term",
        name_en=str(data.get("name_en", "")),
        nationality=str(data.get("nationality", "")),
    )


def transaction_payload(session: Session, *, kiosk_id: str, demo: bool) -> dict[str, Any]:
    item = session.item
    if item is None or session.transaction_key is None:
        raise SessionError("no item chosen and confirmed: nothing to commit")
    return {
        "schema": PAYLOAD_SCHEMA,
        "key": session.transaction_key,
        "kiosk_id": kiosk_id,
        "demo": demo,
        "item": item.code,
        "item_name": item.name,
        "completion": item.completion,
    }


def transaction_personal(session: Session) -> dict[str, Any]:
    """The part of a transaction that is personal data: sealed in the outbox (AES-GCM), sent
    to the platform, erased after the platform accepted it and the retention period passed."""
    return {"applicant": applicant(session.identity), "fields": dict(session.values)}


def rating_payload(
    transaction_key: str,
    transaction_number: str,
    level: int,
    contact_consent: bool | None,
) -> dict[str, Any]:
    if level not in RATING_LEVELS:
        raise ValueError(f"rating level {level!r} is not 1..5")
    if contact_consent is not None and level not in POOR_LEVELS:
        raise ValueError("contact consent is asked only after 不满意 or 非常不满意")
    return {
        "schema": PAYLOAD_SCHEMA,
        "transaction_key": transaction_key,
        "transaction_number": transaction_number,
        "level": level,
        "level_label": RATING_LEVELS[level],
        "contact_consent": contact_consent,
    }
