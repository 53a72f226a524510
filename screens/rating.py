"""好差评: five levels, optional, skippable, nothing pre-selected. Contact consent is asked
only after 不满意 or 非常不满意."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty

from kiosk.i18n import N_, Text
from kiosk.session import RATING_LEVELS, SessionError
from kiosk.transactions import POOR_LEVELS
from offline_cache.outbox import OutboxError
from screens.widgets import KChoice, ResidentScreen

Builder.load_file(str(Path(__file__).with_name("rating.kv")))
NAME = "rating"


class RatingScreen(ResidentScreen):
    level = NumericProperty(0)
    asks_consent = BooleanProperty(False)
    consent = NumericProperty(-1)  # -1 not answered, 0 no, 1 yes

    def spoken_prompt(self) -> str:
        return N_("请您对本次服务进行评价，评价是自愿的。")

    def enter(self) -> None:
        self.level, self.consent, self.asks_consent = 0, -1, False
        box = self.ids.levels
        box.clear_widgets()
        for level, words in RATING_LEVELS.items():
            button = KChoice(label=words, group="rating")  # never pre-selected
            button.bind(on_release=lambda _b, n=level: self.pick(n))
            box.add_widget(button)
        consent = self.ids.consent
        consent.clear_widgets()
        for value, words in ((1, N_("同意工作人员联系我")), (0, N_("不需要联系"))):
            button = KChoice(label=words, group="consent")
            button.bind(on_release=lambda _b, v=value: setattr(self, "consent", v))
            consent.add_widget(button)

    def pick(self, level: int) -> None:
        App.get_running_app().touch()
        self.level = level
        self.asks_consent = level in POOR_LEVELS

    def submit(self) -> None:
        app = App.get_running_app()
        consent = None if not self.asks_consent else bool(self.consent)
        try:
            app.kiosk.commit_rating(app.session, self.level, consent)
        except (OutboxError, SessionError) as error:
            # The transaction is safe; only the rating could not be kept. Skip is still there.
            app.show_toast(Text("评价未能保存：{reason}", reason=error.resident_message))

    def skip(self) -> None:
        App.get_running_app().end("rating skipped")


SCREEN = RatingScreen
