"""Submitting: the commit, then the paper. 已受理 appears only after the commit returned."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.i18n import N_
from offline_cache.outbox import OutboxError
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("submitting.kv")))
NAME = "submitting"


class SubmittingScreen(ResidentScreen):
    status = StringProperty("")

    def spoken_prompt(self) -> str:
        return str(self.status)

    def enter(self) -> None:
        self.back_enabled = False
        self.status = N_("正在提交，请稍候……")

    def commit(self) -> None:
        app = App.get_running_app()
        try:
            app.kiosk.commit_transaction(app.session)
        except Exception as error:  # noqa: BLE001 - nothing was accepted: say so, allow a retry
            message = (
                error.resident_message
                if isinstance(error, OutboxError)
                else N_("暂时无法提交，您的业务尚未受理。请稍后再试，或联系工作人员。")
            )
            app.go("confirm")
            app.screen("confirm").ids.submit.disabled = False
            app.show_toast(message)
            return
        app.numbers.append(app.session.number)
        self.status = N_("已受理，正在打印凭条……")
        app.speak_current()
        app.issue(lambda issued: app.go("result"))


SCREEN = SubmittingScreen
