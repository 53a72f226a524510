"""The service catalog: the shipped items, the schema's errors with file and line, eligibility."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from devices.base import CardRecord
from devices.simulators.people import PEOPLE
from kiosk.catalog import ITEMS_DIR, CatalogError, load_catalog
from kiosk.identity import identity_from_card

TODAY = date(2026, 11, 29)
REQUIRED_GROUPS = {
    "residence-certificate": "certificate",
    "social-insurance-record": "query",
    "pension-qualification": "benefit",
    "old-age-allowance": "benefit",
    "disability-subsidies": "benefit",
    "minimum-living-allowance": "benefit",
    "unemployment-registration": "registration",
    "volunteer-registration": "registration",
    "home-care-booking": "service",
    "resident-request": "request",
    "queue-ticket": "ticket",
}


def person(key: str):  # type: ignore[no-untyped-def]
    p = PEOPLE[key]
    return identity_from_card(CardRecord(p.kind, p.type_flag, dict(p.fields), "sim://"), TODAY)


def test_the_shipped_catalog_covers_every_group_with_twelve_or_more_items() -> None:
    catalog = load_catalog()
    assert len(catalog.items) >= 12
    kinds = {i.code: i.kind for i in catalog.items}
    for code, kind in REQUIRED_GROUPS.items():
        assert kinds.get(code) == kind, code


def test_low_income_allowance_is_finished_at_a_counter_and_says_what_to_bring() -> None:
    item = load_catalog()["minimum-living-allowance"]
    assert item.completion == "counter"
    assert "户口簿" in item.completion_note


def test_pension_qualification_says_where_the_face_check_is_done() -> None:
    item = load_catalog()["pension-qualification"]
    assert item.completion == "counter"
    assert "刷脸" in item.completion_note
    assert "人工窗口" in item.completion_note


def test_manual_entry_only_for_requests_and_tickets() -> None:
    for item in load_catalog().items:
        if "manual" in item.identification:
            assert item.kind in ("request", "ticket"), item.code
    manual = {i.code for i in load_catalog().items if "manual" in i.identification}
    assert manual == {"resident-request", "queue-ticket"}


def test_items_not_finished_here_say_what_happens_next() -> None:
    for item in load_catalog().items:
        if item.completion != "kiosk":
            assert item.completion_note, item.code
            assert item.completion_note_en, item.code


def test_no_item_asks_for_free_text() -> None:
    for item in load_catalog().items:
        assert {f.type for f in item.fields} <= {"choice", "date", "number", "phone"}


@pytest.fixture
def items(tmp_path: Path) -> Path:
    folder = tmp_path / "items"
    shutil.copytree(ITEMS_DIR, folder)
    return folder


def break_file(folder: Path, code: str, old: str, new: str) -> Path:
    path = folder / f"{code}.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def problems(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as raised:
        load_catalog(folder)
    return raised.value.problems


def test_a_wrong_category_names_file_line_and_choices(items: Path) -> None:
    path = break_file(items, "old-age-allowance", 'category = "elderly"', 'category = "old"')
    line = line_of(path, 'category = "old"')
    assert problems(items) == [
        f"{path} line {line}: category: must be one of certificates, social_security, elderly, "
        "assistance, employment, community, queue"
    ]


def test_an_unknown_key_in_a_field_is_reported_at_its_line(items: Path) -> None:
    path = break_file(items, "old-age-allowance", 'type = "phone"', 'type = "phone"\nlength = 11')
    line = line_of(path, "length = 11")
    assert problems(items) == [f"{path} line {line}: fields[1].length is not part of an item"]


def test_a_free_text_field_is_refused(items: Path) -> None:
    path = break_file(items, "old-age-allowance", 'type = "phone"', 'type = "text"')
    line = line_of(path, 'type = "text"')
    assert problems(items) == [
        f"{path} line {line}: fields[1].type: must be one of choice, date, number, phone"
    ]


def test_manual_entry_for_a_benefit_is_refused(items: Path) -> None:
    path = break_file(
        items,
        "old-age-allowance",
        'identification = ["card"]',
        'identification = ["card", "manual"]',
    )
    line = line_of(path, "identification =")
    assert problems(items) == [
        f"{path} line {line}: identification: manual (keypad) entry is only for request and "
        "ticket items, never for a benefit"
    ]


def test_a_pre_application_without_its_note_is_refused(items: Path) -> None:
    path = items / "old-age-allowance.toml"
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.startswith("completion_note")
    )
    path.write_text(text, encoding="utf-8")
    found = problems(items)
    assert len(found) == 2
    assert found[0].startswith(f"{path} line 8: completion_note is missing: a pre-application")


def test_a_toml_syntax_error_gives_its_line(items: Path) -> None:
    path = break_file(items, "queue-ticket", 'kind = "ticket"', 'kind = "ticket')
    (problem,) = problems(items)
    assert problem.startswith(f"{path}: not valid TOML:")
    assert f"line {line_of(path, 'kind = ')}" in problem


def test_a_code_that_differs_from_the_file_name_is_refused(items: Path) -> None:
    path = break_file(items, "queue-ticket", 'code = "queue-ticket"', 'code = "ticket"')
    assert problems(items) == [
        f"{path} line 1: code 'ticket' must equal the file name ('queue-ticket')"
    ]


def test_a_choice_without_its_label_is_refused_at_its_own_line(items: Path) -> None:
    path = break_file(items, "queue-ticket", 'label = "民政救助", ', "")
    line = line_of(path, '"civil_affairs_assistance"')
    assert problems(items) == [f"{path} line {line}: fields[0].choices[1].label is missing"]


def test_a_number_field_without_bounds_is_refused(items: Path) -> None:
    path = break_file(items, "minimum-living-allowance", "min = 1\n", "")
    table = line_of(path, "household_size") - 1  # the [[fields]] line that opens the table
    assert problems(items) == [
        f"{path} line {table}: fields[0].min is missing (a number field needs it)"
    ]


def test_every_problem_in_every_file_is_reported(items: Path) -> None:
    break_file(items, "queue-ticket", 'kind = "ticket"', 'kind = "tiket"')
    break_file(items, "old-age-allowance", "value = 80", 'value = "eighty"')
    found = problems(items)
    assert len(found) == 2
    assert "old-age-allowance.toml" in found[0]
    assert "eligibility[0].value: must be a whole number of years" in found[0]
    assert "queue-ticket.toml" in found[1]


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"{tmp_path}: holds no item files (*.toml)"]


def test_eligibility_is_checked_offline_with_the_rules_text() -> None:
    item = load_catalog()["old-age-allowance"]
    refusals = item.refusals(person("resident"), TODAY)
    assert refusals == ["年满80周岁"]
    assert [r.in_language("en") for r in refusals] == ["Aged 80 or over"]
    assert item.refusals(person("elderly"), TODAY) == []


def test_an_expired_card_is_refused_by_benefits_and_accepted_for_a_queue_ticket() -> None:
    catalog = load_catalog()
    expired = person("expired")
    refusal = catalog["unemployment-registration"].refusals(expired, TODAY)
    assert refusal == ["您的证件已过期，请使用有效证件，或到人工窗口办理。"]
    assert [r.in_language("en") for r in refusal] == [
        "Your card has expired: use a valid card, or go to the staffed counter."
    ]
    assert catalog["queue-ticket"].refusals(expired, TODAY) == []


def test_card_types_restrict_an_item() -> None:
    item = load_catalog()["social-insurance-record"]
    refusals = item.refusals(person("hmt"), TODAY)
    assert refusals == ["本事项不能使用港澳台居民居住证办理。"]
    assert [r.in_language("en") for r in refusals] == [
        "This service cannot be done with a Hong Kong/Macau/Taiwan residence permit."
    ]
    assert item.refusals(person("sscard"), TODAY) == []


@pytest.mark.parametrize(
    ("code", "values", "problem_fields"),
    [
        (
            "old-age-allowance",
            {"payment_method": "social_security_card", "phone": "13800138000"},
            set(),
        ),
        (
            "old-age-allowance",
            {"payment_method": "cash", "phone": "13800138000"},
            {"payment_method"},
        ),
        (
            "old-age-allowance",
            {"payment_method": "social_security_card", "phone": "12345"},
            {"phone"},
        ),
        ("old-age-allowance", {"phone": "13800138000"}, {"payment_method"}),
        (
            "minimum-living-allowance",
            {"household_size": 11, "phone": "13800138000"},
            {"household_size"},
        ),
        ("minimum-living-allowance", {"household_size": 3, "phone": "01088886666"}, set()),
        (
            "home-care-booking",
            {
                "service": "meal_help",
                "service_date": "2026-11-29",
                "time_slot": "morning",
                "phone": "13800138000",
            },
            {"service_date"},
        ),
        (
            "home-care-booking",
            {
                "service": "meal_help",
                "service_date": "2026-12-13",
                "time_slot": "morning",
                "phone": "13800138000",
            },
            set(),
        ),
        ("queue-ticket", {"business": "other", "extra": 1}, {"extra"}),
    ],
)
def test_field_values_are_checked_against_the_item(
    code: str, values: dict[str, object], problem_fields: set[str]
) -> None:
    item = load_catalog()[code]
    assert set(item.field_problems(values, TODAY)) == problem_fields


def test_a_certificate_template_that_does_not_exist_is_refused(items: Path) -> None:
    path = break_file(
        items, "residence-certificate", 'certificate = "residence"', 'certificate = "residense"'
    )
    line = line_of(path, 'certificate = "residense"')
    assert problems(items) == [
        f"{path} line {line}: certificate: there is no template 'residense' (known: residence)"
    ]
