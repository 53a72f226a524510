"""The baseline of make bench's start-up ratio: a bare Kivy app showing one label in the
kiosk's font, with the same Kivy settings, saying READY to systemd once its first frame is
drawn, as `kiosk run` does."""

from __future__ import annotations

import os
from typing import Any

from kiosk.config import load_config
from screens.main import prepare_kivy

prepare_kivy(load_config(None, demo=True, environ=os.environ), fullscreen=False)

from kivy.app import App  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402

from kiosk.service import Notifier  # noqa: E402
from screens.tokens import FONT  # noqa: E402


class Bare(App):
    def build(self) -> Any:
        Window.bind(on_flip=self.first_frame)
        return Label(text="社区政务服务自助机", font_name=FONT, font_size="60sp")

    def first_frame(self, *_args: Any) -> None:
        Window.unbind(on_flip=self.first_frame)
        Notifier().ready()


if __name__ == "__main__":
    Bare().run()
