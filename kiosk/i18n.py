"""Words for residents in more than one language: Simplified Chinese, the source language and
the default, and English, one tap away.

Every resident-facing message is written in Chinese in the code, marked for extraction, and
translated through gettext catalogs (`kiosk/locale/<lang>/LC_MESSAGES/kiosk.po`, extracted with
Babel: `make i18n`, compiled to `.mo` by `make setup`). Chinese msgids keep the code readable for
the people who write the Chinese first; the Chinese "catalog" is therefore the identity.

A message is translated when it is shown, not when it is made, so that switching language
re-renders what is already on the screen. Three kinds of value reach the screens:

- `Text("…{name}…", name=value)`: a message with values. It *is* its Chinese rendering (a
  `str`, so logs, tests and the command line keep working with it) and can say itself in
  another language; its values are localised too (numbers, dates, nested messages).
- `Words(zh, en)`: words a data file gives in both languages (an item's name, a rule's text).
- a plain `str`: a message id (lower layers, which cannot import this module, compose their
  messages from whole sentences, each one a message: see `translate`), or something that is
  not a message at all (a number, a masked name), which is shown as it is.
"""

from __future__ import annotations

import gettext
import re
import struct
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

DEFAULT: Final = "zh_CN"
LANGUAGES: Final = {"zh_CN": "中文", "en": "English"}  # each named in its own language
LOCALE_DIR: Final = Path(__file__).with_name("locale")
DOMAIN: Final = "kiosk"
SENTENCE_END = re.compile(r"(?<=[。！？])")


class CatalogMissing(RuntimeError):
    pass


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of a language, loaded once."""
    if lang == DEFAULT:
        return gettext.NullTranslations()  # the messages are written in Chinese
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    except FileNotFoundError as error:
        raise CatalogMissing(
            f"no compiled catalog for {lang} in {LOCALE_DIR}: run `make setup` (it compiles the "
            ".po files with pybabel)"
        ) from error
    except (OSError, ValueError, struct.error) as error:  # a truncated or corrupt .mo
        raise CatalogMissing(
            f"the compiled catalog for {lang} in {LOCALE_DIR} cannot be read ({error}): run "
            "`make setup` to compile it again"
        ) from error


def babel_locale(lang: str) -> str:
    return "zh_Hans_CN" if lang == DEFAULT else lang


class Text(str):
    """A message with values: its Chinese words, and how to say it in another language."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, /, **values: Any) -> Text:
        shown = msgid.format_map({k: localize(v, DEFAULT) for k, v in values.items()})
        self = super().__new__(cls, shown)
        self.msgid, self.values = msgid, values
        return self

    def in_language(self, lang: str) -> str:
        template = catalog(lang).gettext(self.msgid)
        return template.format_map({k: localize(v, lang) for k, v in self.values.items()})


class Words(Text):
    """Words a data file gives in both languages; English falls back to the Chinese."""

    en: str

    def __new__(cls, zh: str, en: str = "") -> Words:
        self = str.__new__(cls, zh)
        self.msgid, self.values, self.en = zh, {}, en or zh
        return self

    def in_language(self, lang: str) -> str:
        return str(self) if lang == DEFAULT else self.en


def words(source: Any, attribute: str) -> Words:
    """`words(item, "name")`: the attribute and its `_en` twin, as one value."""
    return Words(getattr(source, attribute), getattr(source, attribute + "_en", ""))


class Joined(Text):
    """Several messages shown as one, each translated on its own, with the language's own
    separator (、 is ", " in English). `clauses`: the parts are sentences listed in one
    sentence ("a；b"), so each loses its own full stop."""

    parts: tuple[str, ...]
    separator: str
    prefix: str
    clauses: bool

    def __new__(
        cls, messages: Sequence[str], separator: str = "\n", prefix: str = "", clauses: bool = False
    ) -> Joined:
        parts = tuple(messages)
        shown = _join(parts, separator, prefix, clauses, DEFAULT)
        self = str.__new__(cls, shown)
        self.msgid, self.values = shown, {}
        self.parts, self.separator, self.prefix, self.clauses = parts, separator, prefix, clauses
        return self

    def in_language(self, lang: str) -> str:
        return _join(self.parts, self.separator, self.prefix, self.clauses, lang)


def _join(parts: Sequence[str], separator: str, prefix: str, clauses: bool, lang: str) -> str:
    if separator.strip():
        separator = catalog(lang).gettext(separator)
    elif not separator and lang != DEFAULT:
        separator = " "  # sentences run together in Chinese, not in English
    said = [localize(m, lang) for m in parts]
    if clauses:
        said = [s.rstrip("。.") for s in said]
    return separator.join(prefix + s for s in said)


SEPARATORS: Final = (N_("、"), N_("；"))  # marked for extraction; Joined translates them


def translate(message: str, lang: str) -> str:
    """What a resident reads in `lang`. A Text says itself; a plain message is looked up whole,
    then sentence by sentence (a lower layer's "打印机缺纸。请联系工作人员。" is two messages);
    what no catalog knows (a number, a masked name) is shown as it is."""
    if isinstance(message, Text):
        return message.in_language(lang)
    if lang == DEFAULT or not message:
        return str(message)
    found = catalog(lang)

    def sentence(words: str) -> str:
        said = found.gettext(words)
        if said == words and words.endswith("。"):  # "打印机缺纸" + "。": the words are known
            bare = found.gettext(words[:-1])
            said = words if bare == words[:-1] else bare + "."
        return said

    whole = sentence(message)
    if whole != message:
        return whole
    sentences = [s for s in SENTENCE_END.split(message) if s]
    said = [sentence(s) for s in sentences]
    if len(sentences) < 2 or any(a == b for a, b in zip(said, sentences, strict=True)):
        return message  # not all known (a notice, a name): shown exactly as it was written
    return " ".join(said)


def localize(value: Any, lang: str) -> str:
    """A value inside a message, in the language's conventions."""
    if isinstance(value, str):
        return translate(value, lang)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_number(value, lang)
    if isinstance(value, datetime):
        return format_day(value.date(), lang)
    if isinstance(value, date):
        return format_day(value, lang)
    return str(value)


def format_number(value: int | float, lang: str) -> str:
    from babel.numbers import format_decimal  # Babel's locale data loads on first use

    return str(format_decimal(value, locale=babel_locale(lang)))


def format_day(day: date, lang: str, pattern: str = "") -> str:
    """A date as the language writes it: 2026年12月1日, December 1, 2026. `pattern` is a CLDR
    pattern in Chinese, translated like any message (its English form is in the catalog)."""
    from babel.dates import format_date

    if pattern:
        return str(format_date(day, catalog(lang).gettext(pattern), locale=babel_locale(lang)))
    return str(format_date(day, "long", locale=babel_locale(lang)))


def format_clock(moment: datetime, lang: str) -> str:
    """The header's date and time: 12月1日 16:48, Dec 1, 16:48 (a 24-hour clock in both)."""
    return format_day(moment.date(), lang, N_("M月d日")) + moment.strftime(" %H:%M")
