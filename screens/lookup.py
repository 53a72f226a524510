"""Lookup: the resident's earlier transactions and where they stand, found by the card they
presented; from the platform when it answers, from this kiosk's own queue when it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.catalog import Catalog
from kiosk.i18n import N_, Joined, Text, words
from kiosk.identity import CardType
from kiosk.platform import Lookup, Lookups
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("lookup.kv")))
NAME = "lookup"
SHOWN = 6  # more would need scrolling, which many elderly residents do not attempt


class LookupScreen(ResidentScreen):
    found = StringProperty("")
    source = StringProperty("")

    def spoken_prompt(self) -> str:
        return N_("正在查询您的办件进度，请稍候。")

    def enter(self) -> None:
        app = App.get_running_app()
        self.found, self.source = N_("正在查询，请稍候……"), ""
        session = app.session
        if session is None or session.identity is None:
            return
        if session.identity.card_type is CardType.MANUAL:
            self.found = N_(
                "查询办件进度需要刷身份证或社保卡。"
            )  # a personal query: never by typing
            return
        generation = session.generation
        id_number = session.identity.id_number
        app.run_in_background(
            lambda: app.kiosk.lookup(id_number), lambda result: self._show(result, generation)
        )

    def _show(self, result: Any, generation: int) -> None:
        app = App.get_running_app()
        if app.session is None or app.session.generation != generation:
            return  # the resident left meanwhile: show nothing of theirs to the next one
        if isinstance(result, Exception):
            self.found = N_("暂时无法查询，请稍后再试或咨询工作人员。")
            return
        found: Lookups = result
        entries = found.entries
        if not entries:
            self.found = N_("没有查到您在本机办理过的业务。")
        else:
            self.found = Joined(
                [
                    Text(
                        "{item}\n受理编号：{number}\n状态：{status}",
                        item=_item_words(app.kiosk.catalog, e),
                        number=e.number,
                        status=e.status,
                    )
                    for e in entries[:SHOWN]
                ],
                separator="\n\n",
            )
        self.source = (
            ""
            if found.asked_platform
            else N_("网络暂时中断，以上为本机记录；联网后可查到办理部门的最新进度。")
        )

    def wipe(self) -> None:
        self.found, self.source = "", ""


def _item_words(catalog: Catalog, entry: Lookup) -> str:
    """The item's name in both languages from this kiosk's catalog; as recorded otherwise."""
    try:
        return words(catalog[entry.item], "name")
    except KeyError:
        return entry.item_name


SCREEN = LookupScreen
