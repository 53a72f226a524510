"""The language of the screens, switched with one tap, and the `_` the kv rules call.

kv rules are written `text: tr._("返回")`. Kivy binds such a rule to the `_` property of `tr`,
so when the language changes (a new `_` is set) every rule re-evaluates: static words need no
code to re-render. Python code keeps untranslated messages (Chinese message ids, `Text`,
`Words`) in properties and translates them in kv the same way, or rebuilds its widgets on
`App.set_language`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import ObjectProperty, StringProperty

from kiosk.i18n import DEFAULT, LANGUAGES, catalog, translate


class Translator(EventDispatcher):
    lang = StringProperty(DEFAULT)
    _ = ObjectProperty(None)  # translate(message) for the current language

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ = self._for(self.lang)

    @staticmethod
    def _for(lang: str) -> Callable[[str], str]:
        catalog(lang)  # a missing catalog is found now, not halfway through a screen
        return lambda message: translate(message, lang)

    def switch(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}")
        if lang != self.lang:
            self._ = self._for(lang)
            self.lang = lang

    @property
    def other(self) -> str:
        """The language the switch button offers (there are two)."""
        return next(code for code in LANGUAGES if code != self.lang)


tr = Translator()


def _(message: str) -> str:
    """Translate a message into the current language (for Python code; kv uses `tr._`)."""
    return str(tr._(message))
