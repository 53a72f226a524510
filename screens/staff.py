"""Staff and technician screens, behind the staff PIN: turn service items off and on, lengthen
the time limits, set the voice volume, run the self-test with its interactive checks (a touch
grid, a voice sample, a colour chart), and stop into maintenance mode.

Every change goes through kiosk.staff.change: checked, written atomically, audited, and in
effect at once. A staff screen left untouched for STAFF_IDLE_S goes back to the resident idle
screen (and the audit log says so): a staff session never stays open in a public hall.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from devices.base import HealthLevel
from devices.speaker import SpeechUnavailable
from kiosk.catalog import CATEGORIES
from kiosk.config import STAFF_KEYS
from kiosk.selftest import Check, Report, run_selftest, save
from kiosk.staff import SettingRefused, change, refuse_offer
from screens.tokens import T
from screens.widgets import KButton, KChoice, KLabel, KSmall, url_field

Builder.load_file(str(Path(__file__).with_name("staff.kv")))
STAFF_IDLE_S = 120.0
AUTOMATIC = (HealthLevel.INTERNAL, HealthLevel.EXTERNAL)
GRID_COLS, GRID_ROWS = 3, 4  # the touch grid covers the panel's lower two thirds
MARKS = {True: "✓", False: "×", None: "–"}


class ChartCell(Label):
    """One of the design's colour pairs, with words on it, for the technician to judge."""

    fill = StringProperty("#FFFFFF")
    ink = StringProperty("#000000")


class StaffScreen(Screen):
    """A staff screen: a title, a body, and 返回 / 退出管理 at the bottom. Chinese only: staff
    are the hall's own."""

    SCREEN_NAME: ClassVar[str]  # the name it goes by, as in screens.app.STAFF_SCREENS
    title = StringProperty("")
    message = StringProperty("")

    def on_enter(self, *_args: Any) -> None:
        self.keep_alive()

    def keep_alive(self) -> None:
        Clock.unschedule(self._time_out)
        Clock.schedule_once(self._time_out, STAFF_IDLE_S)

    def on_leave(self, *_args: Any) -> None:
        Clock.unschedule(self._time_out)

    def _time_out(self, _dt: float) -> None:
        app = App.get_running_app()
        if app.manager.current == self.name:
            app.staff_leave("timeout")

    def enter(self) -> None:
        self.message = ""

    def wipe(self) -> None:
        """Nothing of a resident is ever shown here."""

    def relabel(self) -> None:
        """Staff screens are in Chinese only."""

    def go_back(self) -> None:
        App.get_running_app().go("staff")

    def log_out(self) -> None:
        App.get_running_app().staff_leave("logout")

    def apply(self, changes: dict[str, Any]) -> bool:
        """Change settings; the message says what happened, in words for staff."""
        app = App.get_running_app()
        self.keep_alive()
        try:
            app.reconfigure(change(app.config_, changes, who="staff"))
        except (SettingRefused, OSError) as error:
            self.message = f"未能保存：{error}"
            return False
        self.message = "已保存，立即生效。"
        return True


class StaffHome(StaffScreen):
    SCREEN_NAME = "staff"

    def enter(self) -> None:
        super().enter()
        self.title = "工作人员管理"

    def go_back(self) -> None:
        self.log_out()


class StaffItems(StaffScreen):
    """Each service item on or off (off items show the residents where to go instead), and its
    place in its category's list: 上移 moves it one up."""

    SCREEN_NAME = "staff_items"

    def enter(self) -> None:
        super().enter()
        self.title = "服务事项开关与顺序"
        self._fill()

    def _fill(self) -> None:
        app = App.get_running_app()
        box = self.ids.item_list
        box.clear_widgets()
        self.rows: dict[str, Any] = {}
        off = set(app.config_.kiosk.items_off)
        for category, items in app.kiosk.menu().items():
            box.add_widget(KSmall(text=str(CATEGORIES[category])))
            for n, item in enumerate(items):
                row = BoxLayout(spacing=dp(12), size_hint_y=None)
                button = KChoice(label=item.name, state="normal" if item.code in off else "down")
                button.item_code = item.code
                button.bind(on_release=self.toggle)
                button.bind(height=row.setter("height"))
                row.add_widget(button)
                up: Any = Widget(size_hint_x=0.3)  # the first of its category has no 上移
                if n:
                    up = KButton(text="上移", size_hint_x=0.3)
                    up.bind(on_release=lambda _b, c=item.code: self.move_up(c))
                row.add_widget(up)
                box.add_widget(row)
                self.rows[item.code] = (button, up)

    def toggle(self, button: Any) -> None:
        app = App.get_running_app()
        off = [c for c in app.config_.kiosk.items_off if c != button.item_code]
        if button.state == "normal":
            off.append(button.item_code)
        if not self.apply({"kiosk.items_off": tuple(off)}):
            button.state = "normal" if button.state == "down" else "down"

    def move_up(self, code: str) -> None:
        """One place up within its category; the whole order is kept, so the menu shows
        exactly what this list shows."""
        app = App.get_running_app()
        order = [i.code for items in app.kiosk.menu().values() for i in items]
        at = order.index(code)
        order[at - 1], order[at] = order[at], order[at - 1]
        if self.apply({"kiosk.items_order": tuple(order)}):
            self._fill()


class StaffSettings(StaffScreen):
    """Time limits (how long a screen waits, and a multiplier for every limit) and volume."""

    SCREEN_NAME = "staff_settings"

    multiplier = NumericProperty(1.0)
    step_s = NumericProperty(120)
    volume = NumericProperty(80)

    def enter(self) -> None:
        super().enter()
        self.title = "办理时限与音量"
        config = App.get_running_app().config_
        self.multiplier = config.session.time_multiplier
        self.step_s = config.session.step_timeout_s
        self.volume = config.voice.volume
        self.ids.voice_on.state = "down" if config.voice.enabled else "normal"
        self.ids.elderly.state = "down" if config.display.elderly_mode else "normal"

    def step(self, what: str, delta: float) -> None:
        self.keep_alive()
        limits = {"multiplier": (1.0, 10.0), "step_s": (30, 600), "volume": (0, 100)}
        low, high = limits[what]
        setattr(self, what, min(high, max(low, getattr(self, what) + delta)))

    def save(self) -> None:
        app = App.get_running_app()
        config = app.config_
        wanted = {
            "session.time_multiplier": float(self.multiplier),
            "session.step_timeout_s": int(self.step_s),
            "voice.volume": int(self.volume),
        }
        now = {
            "session.time_multiplier": config.session.time_multiplier,
            "session.step_timeout_s": config.session.step_timeout_s,
            "voice.volume": config.voice.volume,
        }
        changed = {k: v for k, v in wanted.items() if v != now[k]}
        if not changed:
            self.message = "没有更改。"
            return
        self.apply(changed)  # the speaker follows through App.reconfigure

    def toggle(self, name: str, button: Any) -> None:
        """Voice on or off (at once); 长辈模式 (the larger sizes: from the next start, since
        every screen is laid out with them)."""
        on = button.state == "down"
        if self.apply({name: on}) and name == "display.elderly_mode":
            self.message = "已保存；长辈模式的更改在自助机下次启动时生效。"


class StaffQueue(StaffScreen):
    """The outbox as staff need it (what waits, since when, what the platform refused and why),
    "sync now", reprints of recent transactions, recent events, and configuration the platform
    offers, to accept or refuse."""

    SCREEN_NAME = "staff_queue"

    def enter(self) -> None:
        super().enter()
        self.title = "上传队列、事件与平台配置"
        self.refresh()

    def refresh(self) -> None:
        app = App.get_running_app()
        kiosk = app.kiosk
        self.keep_alive()
        self.buttons: dict[str, Any] = {}
        box = self.ids.queue_box
        box.clear_widgets()
        status = kiosk.outbox.status()
        state = kiosk.sync_state
        online = "在线" if state.online else (f"暂停：{state.paused}" if state.paused else "离线")
        age = status["oldest_queued_age_s"]
        box.add_widget(
            KLabel(
                text=f"平台：{online}。记录（业务和评价）待上传 {status['queued']} 条"
                + ("" if age is None else f"，最早一条已等待 {int(age)} 秒")
                + f"；已上传 {status['accepted']} 条；被退回 {status['rejected']} 条。"
            )
        )
        box.parent.scroll_y = 1  # the newest state from the top
        self._button(box, "sync_now", "立即上传", self.sync_now)
        # Any transaction still held, by its number (from the resident's receipt or a call).
        row = BoxLayout(spacing=dp(T.gap), size_hint_y=None, height=dp(T.target_min))
        self.number_field = url_field("")
        self.number_field.hint_text = "业务编号"
        row.add_widget(self.number_field)
        by_number = KButton(text="按编号补打", size_hint_x=0.5)
        by_number.bind(on_release=lambda _b: self.reprint_typed())
        self.buttons["reprint_typed"] = by_number
        row.add_widget(by_number)
        box.add_widget(row)
        rows = kiosk.outbox.latest(200)
        for row in [r for r in rows if r.status == "rejected"][-RECENT:]:
            box.add_widget(KSmall(text=f"退回 {row.number}：{row.reject_code} {row.reject_reason}"))
        recent = [r for r in rows if r.kind == "transaction" and r.status != "rejected"][-RECENT:]
        for row in reversed(recent):
            self._button(
                box, f"reprint {row.number}", f"补打 {row.number}", self._reprinter(row.number)
            )
        for event in recent_events(app.config_.data_dir):
            box.add_widget(KSmall(text=event))
        offered = state.offered_config
        self.offered = dict(offered or {})  # what is shown is what is accepted
        if offered and self.offered != app.refused_config:
            shown = "；".join(f"{k} = {v}" for k, v in sorted(self.offered.items()))
            box.add_widget(KLabel(text=f"平台下发了新配置：{shown}。本机设置优先，除非您接受。"))
            self._button(box, "accept", "接受平台配置", lambda: self.decide(True))
            self._button(box, "refuse", "拒绝平台配置", lambda: self.decide(False))

    def _button(self, box: Any, key: str, words: str, action: Callable[[], None]) -> None:
        button = KButton(text=words)
        button.bind(on_release=lambda _b: action())
        self.buttons[key] = button
        box.add_widget(button)

    def _reprinter(self, number: str) -> Callable[[], None]:
        return lambda: self.reprint(number)

    def sync_now(self) -> None:
        app = App.get_running_app()
        self.keep_alive()
        if app.kiosk.link is None:
            self.message = "本机没有连接平台。"
            return
        app.kiosk.link.notify()
        app.audit_action("sync_now", {})
        self.message = "已通知上传；稍后点“刷新”查看。"

    def reprint_typed(self) -> None:
        number = self.number_field.text.strip().upper()
        if not number:
            self.message = "请先输入业务编号（在小票上）。"
            return
        self.reprint(number)

    def reprint(self, number: str) -> None:
        app = App.get_running_app()
        self.keep_alive()
        self.message = f"正在补打 {number}……"

        def done(result: Any) -> None:
            if isinstance(result, Exception):
                self.message = f"未能补打：{result}"
                return
            printed = "、".join(result.printed) or "无"
            problems = "；".join(result.problems)
            self.message = f"已补打 {number}：{printed}" + (f"；{problems}" if problems else "")

        app.reprint(number, done)

    def decide(self, accept: bool) -> None:
        app = App.get_running_app()
        offered = self.offered
        if not accept:
            try:
                refuse_offer(app.config_.data_dir, offered)
            except OSError as error:
                self.message = f"未能记录拒绝：{error}"
                return
            app.refused_config = offered
            self.message = "已拒绝平台配置，本机设置不变。"
        else:
            unknown = sorted(k for k in offered if k not in STAFF_KEYS)
            if unknown:
                self.message = f"未能接受：{'、'.join(unknown)} 不能在本机更改。"
                return
            try:
                app.reconfigure(change(app.config_, offered, who="platform, accepted by staff"))
            except (SettingRefused, OSError) as error:
                self.message = f"未能接受：{error}"
                return
            app.refused_config = offered  # in effect now: not offered again
            self.message = "已接受平台配置，立即生效。"
        self.refresh()


RECENT = 5
EVENT_WORDS = {
    "call_staff": "居民呼叫工作人员",
    "print_failed": "打印失败",
    "paper_near_end": "打印纸将用完",
    "rejected": "平台退回业务",
    "close_refused": "有人试图关闭窗口",
    "key_refused": "有人按了退出键",
    "pin_refused": "管理密码错误",
    "configuration_offered": "平台下发配置",
    "sync_paused": "数据上传暂停",
    "platform_key_changed": "平台密钥变更",
    "audit_failed": "审计日志无法写入",
    "selftest": "设备自检",
}


def recent_events(data_dir: Path) -> list[str]:
    """The latest events for staff, newest first, in words (events hold no personal data)."""
    import json

    from kiosk.core import EVENTS_FILE

    try:
        lines = (data_dir / EVENTS_FILE).read_text(encoding="utf-8").splitlines()[-RECENT * 4 :]
    except OSError:
        return []
    shown = []
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        words = EVENT_WORDS.get(str(event.get("kind")))
        if words:
            at = str(event.get("at", ""))[11:19]
            where = f"（{event['screen']}）" if "screen" in event else ""
            shown.append(f"{at} {words}{where}")
        if len(shown) == RECENT:
            break
    return shown


class Technician(StaffScreen):
    """The self-test on screen: the internal and external checks on a worker thread, then the
    three that need a person (a touch grid, a voice sample, a colour chart), each answered with
    a large button. Each stage's widgets exist only while it is shown: a hidden button must not
    take a touch meant for a visible one."""

    SCREEN_NAME = "technician"

    running = BooleanProperty(False)
    stage = StringProperty("")  # "", "grid", "voice", "colours", "done"

    def enter(self) -> None:
        super().enter()
        self.title = "设备自检"
        self.checks: list[Check] = []
        self.buttons: dict[str, Any] = {}
        self.ids.results.clear_widgets()
        self._stage("")
        self.message = "正在检查设备……"
        self.running = True
        self._run += 1
        run = self._run
        app = App.get_running_app()
        config, today = app.config_, app.kiosk.today()
        held, platform = app.selftest_held(), app.kiosk.sync_state

        def work() -> None:
            try:
                report = run_selftest(config, AUTOMATIC, today=today, held=held, platform=platform)
            except Exception as error:  # noqa: BLE001 - said on the screen, not a dead thread
                failed = Check("self-test", HealthLevel.INTERNAL, False, str(error), 0)
                report = Report([failed], time.time())
            Clock.schedule_once(lambda _dt: self._automatic_done(report, run))

        threading.Thread(target=work, name="selftest", daemon=True).start()
        Clock.schedule_interval(self._still_running, 20)

    _run = 0  # each entry starts a run; a late answer of an earlier one is dropped

    def _still_running(self, _dt: float) -> bool:
        self.keep_alive()  # the staff time-out does not count while devices are checked
        return bool(self.running)

    def _automatic_done(self, report: Report, run: int) -> None:
        if run != self._run or App.get_running_app().manager.current != self.name:
            return
        self.running = False
        self.checks = list(report.checks)
        save(App.get_running_app().config_, report)  # kept even if the person steps away now
        self._show()
        self._stage("grid")

    def _show(self) -> None:
        box = self.ids.results
        box.clear_widgets()
        for check in self.checks:
            box.add_widget(KSmall(text=f"{MARKS[check.ok]} {check.name}：{check.detail}"))

    def _stage(self, stage: str) -> None:
        self.stage = stage
        box = self.ids.stage_box
        box.clear_widgets()
        self.buttons = {}
        if stage == "grid":
            self.message = "触摸检查：请依次点一下每个方格，直到全部打勾。"
            grid = GridLayout(cols=GRID_COLS, spacing=8)
            self._touched: set[int] = set()
            self._grid_started = time.monotonic()
            for index in range(GRID_COLS * GRID_ROWS):
                cell = KButton(text="", size_hint_y=1)
                cell.bind(on_release=lambda b, i=index: self._touch(i, b))
                grid.add_widget(cell)
            box.add_widget(grid)
            self._row(box, ("skip", "跳过触摸检查", self.skip_grid))
        elif stage == "voice":
            self.message = "语音检查：请听一段测试语音，然后回答是否听到。"
            self._row(
                box,
                ("heard", "听到了", lambda: self.heard(True)),
                ("not_heard", "没听到", lambda: self.heard(False)),
                ("replay", "再放一遍", self.play_sample),
            )
            self.play_sample()
        elif stage == "colours":
            self.message = "颜色检查：下面每一块上的文字都看得清吗？"
            chart = GridLayout(cols=2, spacing=8, size_hint_y=None)
            chart.bind(minimum_height=chart.setter("height"))
            for fill, ink in CHART:
                chart.add_widget(ChartCell(fill=getattr(T, fill), ink=getattr(T, ink)))
            box.add_widget(chart)
            self._row(
                box,
                ("clear", "都看得清", lambda: self.saw(True)),
                ("unclear", "有看不清的", lambda: self.saw(False)),
            )

    def _row(self, box: Any, *buttons: tuple[str, str, Callable[[], None]]) -> None:
        row = BoxLayout(spacing=24, size_hint_y=None, height=dp(T.target_min))
        for key, words, action in buttons:
            button = KButton(text=words)
            button.bind(on_release=lambda _b, a=action: a())
            row.add_widget(button)
            self.buttons[key] = button
        box.add_widget(row)

    def _touch(self, index: int, cell: Any) -> None:
        self.keep_alive()
        self._touched.add(index)
        cell.text = "✓"
        if len(self._touched) == GRID_COLS * GRID_ROWS:
            ms = round((time.monotonic() - self._grid_started) * 1000)
            self._record("touch grid", True, "every cell of the panel answered a touch", ms)
            self._stage("voice")

    def skip_grid(self) -> None:
        self._record("touch grid", None, "skipped by the technician", 0)
        self._stage("voice")

    def play_sample(self) -> None:
        """Played whatever voice.enabled says (this is the check of the speaker itself), at the
        configured volume, on a worker thread."""
        app = App.get_running_app()
        self.keep_alive()
        if app.config_.voice.volume == 0:
            self.message = "语音音量为 0，请先在“办理时限与音量”中调高。"
        speaker = app.speaker

        def play() -> None:
            with contextlib.suppress(SpeechUnavailable):
                speaker.play_once(speaker.synthesize("自助机语音测试。请确认您听到了这句话。"))

        threading.Thread(target=play, name="voice-sample", daemon=True).start()

    def heard(self, answer: bool) -> None:
        detail = (
            "the technician heard the voice sample"
            if answer
            else "the technician did not hear the voice sample: check the speaker, its cable "
            "and voice.volume"
        )
        self._record("speaker", answer, detail, 0)
        self._stage("colours")

    def saw(self, answer: bool) -> None:
        detail = (
            "every colour pair of the chart is readable"
            if answer
            else "a colour pair of the chart is hard to read: check the panel's brightness, "
            "contrast and colour settings"
        )
        self._record("colour and contrast chart", answer, detail, 0)
        self._stage("done")
        report = Report(self.checks, time.time())
        save(App.get_running_app().config_, report)  # the next heartbeat carries it
        App.get_running_app().audit_action("selftest", {"ok": report.ok, "failed": report.failed})
        self.message = (
            "自检完成：全部通过。" if report.ok else f"自检完成，未通过：{'、'.join(report.failed)}"
        )

    def _record(self, name: str, ok: bool | None, detail: str, ms: int) -> None:
        self.keep_alive()
        self.checks.append(Check(name, HealthLevel.INTERACTIVE, ok, detail, ms))
        self._show()


# The design's colour pairs (fill, ink), each shown with words on it.
CHART = (
    ("primary", "on_primary"),
    ("secondary", "on_secondary"),
    ("call_bg", "on_call"),
    ("warning_bg", "on_warning"),
    ("background", "text"),
    ("unavailable_bg", "unavailable"),
)


# screens.app builds each by its SCREEN_NAME (listed in STAFF_SCREENS) when staff first open it.
SCREENS = (StaffHome, StaffItems, StaffSettings, StaffQueue, Technician)
