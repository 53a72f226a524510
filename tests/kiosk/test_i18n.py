"""Languages: the catalogs cover every marked message, messages say themselves in English with
their values localised, and dates and numbers follow the language."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from devices.cups import ASK_STAFF as ASK_STAFF_CERTIFICATE
from devices.escpos.printer import ASK_STAFF
from kiosk import i18n
from kiosk.catalog import CATEGORIES, load_catalog
from kiosk.i18n import (
    N_,
    CatalogMissing,
    Joined,
    Text,
    Words,
    format_clock,
    format_day,
    translate,
    words,
)
from offline_cache.outbox import OutboxFull

ROOT = Path(__file__).parents[2]
PO = ROOT / "kiosk" / "locale" / "en" / "LC_MESSAGES" / "kiosk.po"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# English names the unit in the field's label ("Number of copies"), not after the number.
DROPPED = {"{value}{unit}": {"unit"}, "“{label}”应在{low}到{high}{unit}之间。": {"unit"}}


def extracted(tmp_path: Path) -> set[str]:
    """What `make i18n` would extract from the source now (the same command line)."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-k Text -k N_" in makefile
    assert "screens kiosk devices offline_cache" in makefile
    pot = tmp_path / "now.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "Text",
            "-k",
            "N_",
            "-o",
            str(pot),
            "screens",
            "kiosk",
            "devices",
            "offline_cache",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as file:
        return {str(m.id) for m in read_po(file) if m.id}


def test_every_message_in_the_source_has_an_english_translation(tmp_path: Path) -> None:
    with PO.open("rb") as file:
        catalog = read_po(file)
    translated = {str(m.id): str(m.string) for m in catalog if m.id and m.string}
    missing = sorted(extracted(tmp_path) - set(translated))
    assert not missing, (
        f"{len(missing)} message(s) have no English yet, e.g. {missing[:3]}: run `make i18n`, "
        f"then translate them in {PO.relative_to(ROOT)}"
    )
    assert not [m.id for m in catalog if m.fuzzy and m.id], "fuzzy entries are not shown"
    for msgid, english in translated.items():
        assert not CJK.search(english), f"Chinese left in the English for {msgid!r}"
        wanted = set(PLACEHOLDER.findall(msgid)) - DROPPED.get(msgid, set())
        assert set(PLACEHOLDER.findall(english)) == wanted, msgid
        # A stray brace would stop the screen while it is drawn: every one must format.
        english.format_map(dict.fromkeys(PLACEHOLDER.findall(msgid), "x"))
        assert english.count("\n") == msgid.count("\n"), f"line breaks differ: {msgid!r}"


def test_the_compiled_catalog_is_the_one_in_git() -> None:
    # make setup compiles the .po; a stale .mo would show yesterday's words.
    with PO.open("rb") as file:
        entries = [(str(m.id), str(m.string)) for m in read_po(file) if m.id]
    english = i18n.catalog("en")
    assert [(msgid, english.gettext(msgid)) for msgid, _ in entries] == entries


def test_a_message_is_its_chinese_and_says_itself_in_english() -> None:
    typed = Text("已输入 {typed} 位，还差 {left} 位。", typed=3, left=15)
    assert typed == "已输入 3 位，还差 15 位。"  # logs, tests and the command line see this
    assert typed.in_language("zh_CN") == "已输入 3 位，还差 15 位。"
    assert typed.in_language("en") == "Digits entered: 3. Still needed: 15."
    # Values are localised too: numbers with the language's grouping, nested messages.
    waiting = Text("{status} · 待上传 {count} 件", status=N_("● 网络正常"), count=12345)
    assert waiting == "● 网络正常 · 待上传 12,345 件"
    assert waiting.in_language("en") == "● Network OK · 12,345 waiting to upload"


def test_words_from_data_and_lists_with_the_languages_separator() -> None:
    item = load_catalog()["residence-certificate"]
    name = words(item, "name")
    assert (name, name.in_language("en")) == ("居住证明", item.name_en)
    assert Words("只有中文").in_language("en") == "只有中文"  # no English given: the Chinese
    listed = Joined([N_("凭条"), name], separator="、")
    assert listed == "凭条、居住证明"
    assert listed.in_language("en") == f"receipt, {item.name_en}"
    assert CATEGORIES["queue"].in_language("en") == "Queue tickets"


def test_lower_layers_sentences_are_translated_one_by_one() -> None:
    # devices/ cannot import kiosk: it composes its messages from whole sentences.
    paper_out = "打印机缺纸" + "。" + ASK_STAFF
    assert translate(paper_out, "en") == (
        "Printer out of paper. Your case is accepted. Please ask staff to reprint the receipt."
    )
    assert not CJK.search(translate("打印失败。" + ASK_STAFF_CERTIFICATE, "en"))
    assert translate(OutboxFull("disk").resident_message, "en") == (
        "The kiosk's storage is full, so it cannot take new cases. Please go to the staffed "
        "counter."
    )
    # What no catalog knows (a masked name, a number) is shown as it is.
    assert translate("测*一", "en") == "测*一"
    assert translate("DEMO-0001-20261201-00001", "en") == "DEMO-0001-20261201-00001"
    assert translate("返回", "zh_CN") == "返回"
    # Unless every sentence is known, a text stays exactly as written: a platform's notice is
    # not half translated, nor re-spaced.
    notice = "今日停水。打印失败。明日恢复。"
    assert translate(notice, "en") == notice
    assert Text("【通知】{text}", text=notice).in_language("en") == f"Notice: {notice}"


def test_rules_listed_in_one_sentence_lose_their_own_full_stops() -> None:
    rules = [Text("本事项需要刷身份证或社保卡办理。"), Words("年满80周岁", "Aged 80 or over")]
    listed = Text(
        "暂不可办理：{rules}。如有疑问请到{where}咨询。",
        rules=Joined(rules, separator="；", clauses=True),
        where=Words("社区服务站", "The community service station"),
    )
    assert (
        listed
        == "暂不可办理：本事项需要刷身份证或社保卡办理；年满80周岁。如有疑问请到社区服务站咨询。"
    )
    assert listed.in_language("en") == (
        "Not available to you: This service needs an ID card or social security card; Aged 80 "
        "or over. Questions? Ask at: The community service station."
    )


def test_dates_follow_the_language() -> None:
    day = date(2026, 12, 1)
    assert format_day(day, "zh_CN") == "2026年12月1日"
    assert format_day(day, "en") == "December 1, 2026"
    assert format_day(day, "zh_CN", N_("M月d日 EEEE")) == "12月1日 星期二"
    assert format_day(day, "en", N_("M月d日 EEEE")) == "Tuesday, Dec 1"
    moment = datetime(2026, 12, 1, 9, 5)
    assert format_clock(moment, "zh_CN") == "12月1日 09:05"
    assert format_clock(moment, "en") == "Dec 1 09:05"
    # A date inside a message is written the language's way.
    field = next(f for f in load_catalog()["home-care-booking"].fields if f.type == "date")
    problem = field.problem("2020-01-01", day)
    assert problem is not None
    assert str(day.year) in problem.in_language("en")
    assert not CJK.search(problem.in_language("en"))


def test_a_field_problem_names_the_field_in_the_residents_language() -> None:
    field = next(f for f in load_catalog()["residence-certificate"].fields if f.type == "number")
    problem = field.problem(99, date(2026, 12, 1))
    assert problem == f"“{field.label}”应在{field.min}到{field.max}{field.unit}之间。"
    english = problem.in_language("en") if isinstance(problem, Text) else ""
    assert english == f"“{field.label_en}” must be between {field.min} and {field.max}."


def test_a_missing_compiled_catalog_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    i18n.catalog.cache_clear()
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        with pytest.raises(CatalogMissing, match="make setup"):
            i18n.catalog("en")
        with pytest.raises(ValueError, match="unknown language"):
            i18n.catalog("fr")
        i18n.catalog.cache_clear()
        broken = tmp_path / "en" / "LC_MESSAGES" / "kiosk.mo"
        broken.parent.mkdir(parents=True)
        broken.write_bytes(b"\x95\x04\x12\xde" + b"\x00" * 3)  # a .mo cut short
        with pytest.raises(CatalogMissing, match="cannot be read"):
            i18n.catalog("en")
    finally:
        i18n.catalog.cache_clear()
