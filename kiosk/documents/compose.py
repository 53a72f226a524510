"""What goes on a resident's paper, from a committed transaction.

The receipt is public-ish paper (left on counters, photographed): name and ID number masked as
the design says, phone masked, no address. The certificate is the resident's own document: it
carries the full details it certifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from kiosk.catalog import Item
from kiosk.documents.certificate import Certificate
from kiosk.documents.receipt import Line, Receipt
from kiosk.identity import ResidentIdentity, mask_name

COMPLETION_WORDS = {
    "kiosk": "已办结",
    "pre-application": "已受理，待审核",
    "counter": "请到人工窗口办理",
}


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def shown_value(item: Item, name: str, value: Any) -> str:
    """A field's value as the resident chose it: the choice's label, a date in words."""
    field = next(f for f in item.fields if f.name == name)
    if field.type == "choice":
        return next((c.label for c in field.choices if c.value == value), str(value))
    if field.type == "date":
        d = date.fromisoformat(str(value))
        return f"{d.year}年{d.month}月{d.day}日"
    if field.type == "number":
        return f"{value}{field.unit}"
    return mask_phone(str(value))


def transaction_receipt(
    *,
    number: str,
    item: Item,
    identity: ResidentIdentity,
    values: Mapping[str, Any],
    hall_name: str,
    at: datetime,
    demo: bool,
    track_url: str,
) -> Receipt:
    lines: list[Line] = []
    if demo:
        lines.append(Line("演示 DEMO", "title", "center"))
    lines += [
        Line("政务服务自助机", "title", "center"),
        Line(hall_name, "text", "center"),
        Line("业务受理凭条", "heading", "center"),
        Line(style="rule"),
        Line(f"业务名称：{item.name}"),
        Line("受理编号："),
        Line(number, "heading"),
        Line(f"办理时间：{at:%Y-%m-%d %H:%M}"),
        Line(f"申请人：{mask_name(identity.name or identity.name_en)}"),
        Line(f"证件号码：{identity.masked_id}"),
        Line(f"办理状态：{COMPLETION_WORDS[item.completion]}"),
    ]
    for field in item.fields:
        if field.name in values and values[field.name] not in (None, ""):
            lines.append(
                Line(f"{field.label}：{shown_value(item, field.name, values[field.name])}")
            )
    if item.completion_note:
        lines += [Line(style="rule"), Line("后续事项：", "heading"), Line(item.completion_note)]
    lines += [
        Line(style="rule"),
        Line("扫码查询办理进度", "text", "center"),
        Line(track_url, "qr", "center"),
        Line("请妥善保管本凭条。如有疑问请咨询工作人员。", "text", "center"),
    ]
    return Receipt(number, tuple(lines))


def certificate_for(
    *,
    template: str,
    number: str,
    identity: ResidentIdentity,
    values: Mapping[str, Any],
    item: Item,
    issuer: str,
    issued: date,
    demo: bool,
) -> Certificate:
    purpose = shown_value(item, "purpose", values["purpose"]) if "purpose" in values else ""
    return Certificate(
        template=template,
        number=number,
        issued=issued,
        issuer=issuer,
        name=identity.name or identity.name_en,
        sex=identity.sex.zh,
        id_number=identity.id_number,
        address=identity.address,
        purpose=purpose,
        demo=demo,
    )
