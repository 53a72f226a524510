"""Menu: categories, then their items. Items the kiosk cannot finish now, or this resident
cannot start, are shown with ⊘, the reason in words, and where to go instead."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.catalog import CATEGORIES
from kiosk.i18n import N_, Joined, Text, words
from kiosk.identity import CardType
from screens.i18n import _
from screens.widgets import KButton, KHeading, KUnavailable, ResidentScreen

Builder.load_file(str(Path(__file__).with_name("menu.kv")))
NAME = "menu"


class MenuScreen(ResidentScreen):
    category = StringProperty("")
    prompt = StringProperty("")

    def spoken_prompt(self) -> str:
        if not self.category:
            return Text("{prompt}。", prompt=self.prompt)
        return Text("{prompt}。灰色的事项暂时不能办理，屏幕上写有原因。", prompt=self.prompt)

    def enter(self, category: str = "") -> None:
        self.category = category
        self._fill()

    def relabel(self) -> None:
        self._fill()

    def _fill(self) -> None:
        app = App.get_running_app()
        app.refresh_printers()  # out of paper now means unavailable now
        box = self.ids.choices
        box.clear_widgets()
        groups = app.kiosk.menu()
        if not self.category:
            self.prompt = N_("请选择业务类别")
            for code, items in groups.items():
                button = KButton(
                    text=_(
                        Text("{category}（{count}项）", category=CATEGORIES[code], count=len(items))
                    )
                )
                button.bind(on_release=lambda _b, c=code: self.show(c))
                box.add_widget(button)
            # A personal query: only for a resident identified by a card, never a typed number.
            if app.session and app.session.identity.card_type is not CardType.MANUAL:
                lookup = KButton(text=_(N_("查询我的办件进度")))
                lookup.bind(on_release=lambda _b: app.go("lookup"))
                box.add_widget(lookup)
            return
        self.prompt = Text("{category}：请选择要办理的事项", category=CATEGORIES[self.category])
        for item in groups[self.category]:
            reason = app.kiosk.unavailable(item)
            refusals = app.session.available(item.code) if app.session else []
            if reason is None and not refusals:
                button = KButton(text=_(words(item, "name")))
                button.bind(on_release=lambda _b, c=item.code: self.choose(c))
                box.add_widget(button)
            elif reason is not None:
                box.add_widget(KUnavailable(title=words(item, "name"), reason=reason))
            else:
                reason = Text(
                    "暂不可办理：{rules}。如有疑问请到{where}咨询。",
                    rules=Joined(refusals, separator="；", clauses=True),
                    where=words(item, "where_else"),
                )
                box.add_widget(KUnavailable(title=words(item, "name"), reason=reason))
        box.add_widget(KHeading(text=""))

    def wipe(self) -> None:
        self.category = ""
        self.ids.choices.clear_widgets()

    def show(self, category: str) -> None:
        app = App.get_running_app()
        app.touch()
        self.category = category
        self._fill()
        app.speak_current()

    def back_to_categories(self) -> bool:
        if not self.category:
            return False
        self.show("")
        return True

    def choose(self, code: str) -> None:
        app = App.get_running_app()
        app.session.choose(code)
        if app.session.item.fields:
            app.go("form")
        elif not app.session.review():  # nothing to ask: straight to the confirm screen
            app.go("confirm")


SCREEN = MenuScreen
