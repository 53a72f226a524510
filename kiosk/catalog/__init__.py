"""The service catalog: each item (事项) is a TOML file, not code.

`load_catalog(folder)` reads every `*.toml` in a folder and checks it against the schema below;
`CatalogError.problems` lists each mistake with its file and line. The shipped items are in
`kiosk/catalog/items/`. README.md, "Service items", describes the format for staff and vendors.

Rules beyond types: the code equals the file name; manual (keypad) identification only for
requests and tickets, never for certificates, benefits or personal queries; a note on what
happens next for every item not finished at the kiosk; a certificate template exactly when a
certificate is printed; no free-text field (residents have no keyboard).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from kiosk.checks import Check, boolean, list_of, matches, one_of, text, whole_number
from kiosk.documents.certificate import template_codes
from kiosk.i18n import N_, Text, Words, words
from kiosk.identity import CardType, ResidentIdentity
from kiosk.tomlfile import Locator, TomlError, read_toml

ITEMS_DIR: Final = Path(__file__).with_name("items")

CATEGORIES: Final = {  # display order
    "certificates": Words("证明开具", "Certificates"),
    "social_security": Words("社保服务", "Social insurance"),
    "elderly": Words("养老服务", "Elderly services"),
    "assistance": Words("救助与补贴", "Assistance and subsidies"),
    "employment": Words("就业服务", "Employment"),
    "community": Words("社区事务", "Community affairs"),
    "queue": Words("排队取号", "Queue tickets"),
}
KINDS: Final = ("certificate", "query", "benefit", "registration", "service", "request", "ticket")
MANUAL_KINDS: Final = ("request", "ticket")  # design: never certificates, benefits, queries
COMPLETIONS: Final = ("kiosk", "pre-application", "counter")
DEVICES: Final = ("receipt_printer", "certificate_printer")
PRINTS: Final = ("receipt", "certificate", "ticket")
FIELD_TYPES: Final = ("choice", "date", "number", "phone")
RULES: Final = ("age_at_least", "age_below", "card_valid")
CARD_TYPES: Final = tuple(t.value for t in CardType if t is not CardType.MANUAL)
PHONE: Final = re.compile(r"1[3-9][0-9]{9}|0[1-9][0-9]{1,2}[0-9]{7,8}")


class CatalogError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    label_en: str


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    label_en: str
    type: str
    required: bool
    choices: tuple[Choice, ...] = ()
    min: int = 0  # number fields
    max: int = 0
    unit: str = ""
    min_days: int = 0  # date fields: days from today
    max_days: int = 0

    def problem(self, value: object, today: date) -> Text | None:
        """Why a value cannot be accepted, in words for the resident; None when it can."""
        label = words(self, "label")
        if value is None or value == "":
            return Text("请填写“{label}”。", label=label) if self.required else None
        if self.type == "choice":
            if value not in {c.value for c in self.choices}:
                return Text("请从列表中选择“{label}”。", label=label)
        elif self.type == "number":
            if not isinstance(value, int) or isinstance(value, bool):
                return Text("“{label}”应为数字。", label=label)
            if not self.min <= value <= self.max:
                return Text(
                    "“{label}”应在{low}到{high}{unit}之间。",
                    label=label,
                    low=self.min,
                    high=self.max,
                    unit=self.unit,  # Chinese only: English names the unit in the label
                )
        elif self.type == "date":
            try:
                chosen = date.fromisoformat(str(value))
            except ValueError:
                return Text("“{label}”不是有效日期。", label=label)
            first, last = today + timedelta(self.min_days), today + timedelta(self.max_days)
            if not first <= chosen <= last:
                return Text(
                    "“{label}”应在{first}到{last}之间。", label=label, first=first, last=last
                )
        elif self.type == "phone" and not (isinstance(value, str) and PHONE.fullmatch(value)):
            return Text("“{label}”应为11位手机号码或带区号的固定电话。", label=label)
        return None


@dataclass(frozen=True)
class Rule:
    rule: str
    value: Any
    text: str
    text_en: str

    def holds(self, identity: ResidentIdentity, today: date) -> bool:
        if self.rule == "age_at_least":
            return identity.age_on(today) >= int(self.value)
        if self.rule == "age_below":
            return identity.age_on(today) < int(self.value)
        return not identity.is_expired(today)  # card_valid


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    name_en: str
    category: str
    kind: str
    summary: str
    summary_en: str
    completion: str
    identification: tuple[str, ...]
    offline_ok: bool
    needs: tuple[str, ...]
    prints: tuple[str, ...]
    where_else: str
    where_else_en: str
    completion_note: str = ""
    completion_note_en: str = ""
    card_types: tuple[str, ...] = CARD_TYPES
    accept_expired_card: bool = False
    certificate: str = ""
    staffed: bool = False
    eligibility: tuple[Rule, ...] = ()
    fields: tuple[Field, ...] = ()
    source: str = ""

    def refusals(self, identity: ResidentIdentity, today: date) -> list[Text]:
        """Why this resident cannot start this item, one message for each rule not met (a
        rule's own words come from the item's file in both languages). Checked offline from
        the identity, before the resident fills anything in."""
        out: list[Text] = []
        if identity.card_type is CardType.MANUAL:
            if "manual" not in self.identification:
                out.append(Text("本事项需要刷身份证或社保卡办理。"))
        elif identity.card_type.value not in self.card_types:
            out.append(Text("本事项不能使用{card}办理。", card=identity.card_type.words))
        if not self.accept_expired_card and identity.is_expired(today):
            out.append(Text("您的证件已过期，请使用有效证件，或到人工窗口办理。"))
        out.extend(words(r, "text") for r in self.eligibility if not r.holds(identity, today))
        return out

    def field_problems(self, values: Mapping[str, object], today: date) -> dict[str, str]:
        problems: dict[str, str] = {
            f.name: p for f in self.fields if (p := f.problem(values.get(f.name), today))
        }
        for name in set(values) - {f.name for f in self.fields}:
            problems[name] = N_("这一项不属于本事项。")
        return problems

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "category": self.category,
            "kind": self.kind,
            "summary": self.summary,
            "completion": self.completion,
            "completion_note": self.completion_note,
            "identification": list(self.identification),
            "offline_ok": self.offline_ok,
            "needs": list(self.needs),
            "prints": list(self.prints),
            "eligibility": [r.text for r in self.eligibility],
            "fields": [
                {"name": f.name, "label": f.label, "type": f.type, "required": f.required}
                for f in self.fields
            ],
        }


@dataclass(frozen=True)
class Catalog:
    items: tuple[Item, ...] = field(default_factory=tuple)

    def __getitem__(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)

    def by_category(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {c: [] for c in CATEGORIES}
        for item in self.items:
            out[item.category].append(item)
        return {c: items for c, items in out.items() if items}


# --- the schema ---------------------------------------------------------------------------------


_name = matches(r"[a-z][a-z0-9_]{0,31}", "lower-case letters, digits and _ (e.g. phone_number)")

ITEM_KEYS: Final[dict[str, tuple[Check, bool]]] = {  # key: (check, required)
    "code": (
        lambda v: (
            None
            if isinstance(v, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,47}", v)
            else "must be lower-case letters, digits and - (e.g. old-age-allowance)"
        ),
        True,
    ),
    "name": (text(24), True),
    "name_en": (text(80), True),
    "category": (one_of(*CATEGORIES), True),
    "kind": (one_of(*KINDS), True),
    "summary": (text(), True),
    "summary_en": (text(), True),
    "completion": (one_of(*COMPLETIONS), True),
    "completion_note": (text(), False),
    "completion_note_en": (text(), False),
    "identification": (list_of(("card", "manual")), True),
    "card_types": (list_of(CARD_TYPES), False),
    "accept_expired_card": (boolean, False),
    "offline_ok": (boolean, True),
    "needs": (list_of(DEVICES, allow_empty=True), True),
    "prints": (list_of(PRINTS, allow_empty=True), True),
    "certificate": (_name, False),
    "where_else": (text(), True),
    "where_else_en": (text(), True),
    "staffed": (boolean, False),
    "eligibility": (
        lambda v: None if isinstance(v, list) else "must be [[eligibility]] tables",
        False,
    ),
    "fields": (lambda v: None if isinstance(v, list) else "must be [[fields]] tables", False),
}
RULE_KEYS: Final[dict[str, tuple[Check, bool]]] = {
    "rule": (one_of(*RULES), True),
    "value": (lambda v: None, True),
    "text": (text(80), True),
    "text_en": (text(200), True),
}
FIELD_KEYS: Final[dict[str, tuple[Check, bool]]] = {
    "name": (_name, True),
    "label": (text(16), True),
    "label_en": (text(60), True),
    "type": (one_of(*FIELD_TYPES), True),
    "required": (boolean, True),
    "choices": (
        lambda v: (
            None
            if isinstance(v, list) and 2 <= len(v) <= 8
            else "must be a list of 2 to 8 { value, label, label_en }"
        ),
        False,
    ),
    "min": (whole_number(-(10**6), 10**6), False),
    "max": (whole_number(-(10**6), 10**6), False),
    "unit": (text(4), False),
    "min_days": (whole_number(-36600, 3660), False),
    "max_days": (whole_number(-36600, 3660), False),
}
CHOICE_KEYS: Final[dict[str, tuple[Check, bool]]] = {
    "value": (_name, True),
    "label": (text(20), True),
    "label_en": (text(60), True),
}
TYPE_KEYS: Final = {
    "choice": {"choices"},
    "number": {"min", "max"},
    "date": {"min_days", "max_days"},
    "phone": set[str](),
}


def load_catalog(folder: Path = ITEMS_DIR) -> Catalog:
    """Every item file in a folder; CatalogError lists each problem with file and line."""
    if not folder.is_dir():
        raise CatalogError([f"{folder}: no such folder of item files"])
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise CatalogError([f"{folder}: holds no item files (*.toml)"])
    items: list[Item] = []
    problems: list[str] = []
    for path in paths:
        try:
            data, text = read_toml(path)
        except TomlError as error:
            problems.append(str(error))
            continue
        item = _item(data, path, Locator(text, str(path)), problems)
        if item is not None:
            items.append(item)
    seen: dict[str, str] = {}
    for item in items:
        if item.code in seen:
            problems.append(f"{item.source}: code {item.code!r} is also used by {seen[item.code]}")
        seen[item.code] = item.source
    if problems:
        raise CatalogError(problems)
    order = list(CATEGORIES)
    return Catalog(tuple(sorted(items, key=lambda i: (order.index(i.category), i.code))))


def _check_keys(
    data: Any,
    spec: Mapping[str, tuple[Check, bool]],
    path: tuple[str | int, ...],
    at: Locator,
    problems: list[str],
) -> bool:
    shown = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    prefix = f"{shown}." if shown else ""
    if not isinstance(data, dict):
        problems.append(f"{at.where(*path)}{shown} must be a table")
        return False
    ok = True
    for key, value in data.items():
        if key not in spec:
            close = [k for k in spec if k.startswith(key[:3])]
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{at.where(*path, key)}{prefix}{key} is not part of an item{hint}")
            ok = False
            continue
        problem = spec[key][0](value)
        if problem:
            problems.append(f"{at.where(*path, key)}{prefix}{key}: {problem}")
            ok = False
    for key, (_, required) in spec.items():
        if required and key not in data:
            problems.append(f"{at.where(*path)}{prefix}{key} is missing")
            ok = False
    return ok


def _item(data: dict[str, Any], path: Path, at: Locator, problems: list[str]) -> Item | None:
    before = len(problems)
    if not _check_keys(data, ITEM_KEYS, (), at, problems):
        return None
    if data["code"] != path.stem:
        problems.append(
            f"{at.where('code')}code {data['code']!r} must equal the file name ({path.stem!r})"
        )
    if "manual" in data["identification"] and data["kind"] not in MANUAL_KINDS:
        problems.append(
            f"{at.where('identification')}identification: manual (keypad) entry "
            f"is only for {' and '.join(MANUAL_KINDS)} items, never for a "
            f"{data['kind']}"
        )
    if data["completion"] != "kiosk":
        for key in ("completion_note", "completion_note_en"):
            if key not in data:
                problems.append(
                    f"{at.where('completion')}{key} is missing: a "
                    f"{data['completion']} item must say what happens next, "
                    "what to bring and where"
                )
    if "certificate" in data and data["certificate"] not in template_codes():
        problems.append(
            f"{at.where('certificate')}certificate: there is no template "
            f"{data['certificate']!r} (known: {', '.join(sorted(template_codes()))})"
        )
    if ("certificate" in data["prints"]) != ("certificate" in data):
        problems.append(
            f"{at.where('prints')}prints certificate and certificate = TEMPLATE go together"
        )
    needed = {
        "receipt": "receipt_printer",
        "ticket": "receipt_printer",
        "certificate": "certificate_printer",
    }
    for printed in data["prints"]:
        if needed[printed] not in data["needs"]:
            problems.append(
                f"{at.where('needs')}needs must list {needed[printed]} "
                f"(the item prints a {printed})"
            )
    rules = [
        r
        for i, raw in enumerate(data.get("eligibility", []))
        if (r := _rule(raw, i, at, problems)) is not None
    ]
    fields = [
        f
        for i, raw in enumerate(data.get("fields", []))
        if (f := _field(raw, i, at, problems)) is not None
    ]
    names = [f.name for f in fields]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append(
                f"{at.where('fields', i, 'name')}fields[{i}].name: {name!r} is used twice"
            )
    if len(problems) > before:
        return None
    return Item(
        code=data["code"],
        name=data["name"],
        name_en=data["name_en"],
        category=data["category"],
        kind=data["kind"],
        summary=data["summary"],
        summary_en=data["summary_en"],
        completion=data["completion"],
        identification=tuple(data["identification"]),
        offline_ok=data["offline_ok"],
        needs=tuple(data["needs"]),
        prints=tuple(data["prints"]),
        where_else=data["where_else"],
        where_else_en=data["where_else_en"],
        completion_note=data.get("completion_note", ""),
        completion_note_en=data.get("completion_note_en", ""),
        card_types=tuple(data.get("card_types", CARD_TYPES)),
        accept_expired_card=data.get("accept_expired_card", False),
        certificate=data.get("certificate", ""),
        staffed=data.get("staffed", False),
        eligibility=tuple(rules),
        fields=tuple(fields),
        source=str(path),
    )


def _rule(raw: Any, i: int, at: Locator, problems: list[str]) -> Rule | None:
    path = ("eligibility", i)
    if not _check_keys(raw, RULE_KEYS, path, at, problems):
        return None
    value = raw["value"]
    if raw["rule"] == "card_valid":
        valid = value is True
        wanted = "true"
    else:
        valid = whole_number(0, 150)(value) is None
        wanted = "a whole number of years from 0 to 150"
    if not valid:
        problems.append(
            f"{at.where(*path, 'value')}eligibility[{i}].value: must be {wanted} for {raw['rule']}"
        )
        return None
    return Rule(raw["rule"], value, raw["text"], raw["text_en"])


def _field(raw: Any, i: int, at: Locator, problems: list[str]) -> Field | None:
    path = ("fields", i)
    if not _check_keys(raw, FIELD_KEYS, path, at, problems):
        return None
    kind = raw["type"]
    wanted = TYPE_KEYS[kind]
    allowed = {"name", "label", "label_en", "type", "required"} | wanted
    if kind == "number":
        allowed.add("unit")
    ok = True
    for key in sorted(wanted - set(raw)):
        problems.append(f"{at.where(*path)}fields[{i}].{key} is missing (a {kind} field needs it)")
        ok = False
    for key in sorted(set(raw) - allowed):
        problems.append(f"{at.where(*path, key)}fields[{i}].{key} does not apply to a {kind} field")
        ok = False
    choices: list[Choice] = []
    for j, choice in enumerate(raw.get("choices", []) if kind == "choice" else []):
        if _check_keys(choice, CHOICE_KEYS, (*path, "choices", j), at, problems):
            choices.append(Choice(choice["value"], choice["label"], choice["label_en"]))
        else:
            ok = False
    if len({c.value for c in choices}) != len(choices):
        problems.append(f"{at.where(*path, 'choices')}fields[{i}].choices: a value is used twice")
        ok = False
    low, high = (
        (raw.get("min"), raw.get("max"))
        if kind == "number"
        else (raw.get("min_days"), raw.get("max_days"))
    )
    if low is not None and high is not None and low > high:
        problems.append(
            f"{at.where(*path)}fields[{i}]: the lowest allowed value is above the highest"
        )
        ok = False
    if not ok:
        return None
    return Field(
        raw["name"],
        raw["label"],
        raw["label_en"],
        kind,
        raw["required"],
        tuple(choices),
        raw.get("min", 0),
        raw.get("max", 0),
        raw.get("unit", ""),
        raw.get("min_days", 0),
        raw.get("max_days", 0),
    )
