"""Staff screens for how the kiosk is set up: the staffed windows' opening hours, its devices,
platform address and id (each tried before it can be saved), and the hall's name and seal.

Hours apply at once. Devices, the platform and the kiosk id are opened once per start, so those
are saved for the next start, and the screen offers to start again at once.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any, Final

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from devices.base import HealthLevel, Role
from devices.discover import Discovery, discover
from kiosk.config import AT_NEXT_START
from kiosk.documents.seal import find_seals, install_seal, seal_problem
from kiosk.hours import HoursError, parse_hours
from kiosk.selftest import Check, try_setting
from screens.staff import MARKS, StaffScreen
from screens.widgets import KButton, KLabel, KSmall

Builder.load_file(str(Path(__file__).with_name("staff_setup.kv")))

DAYS = {"每天": "every", "工作日": "weekdays", "周一至周六": "mon_sat"}
STEP_MIN = 30
DEFAULT_SPANS = [(8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30)]


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


class StaffHours(StaffScreen):
    """The staffed windows' hours, set with buttons (no typing): which days, and one or two
    spans in half hours. Items that need staff are offered only then."""

    days = StringProperty("工作日")
    first_open = NumericProperty(DEFAULT_SPANS[0][0])
    first_close = NumericProperty(DEFAULT_SPANS[0][1])
    second_open = NumericProperty(DEFAULT_SPANS[1][0])
    second_close = NumericProperty(DEFAULT_SPANS[1][1])
    two_spans = BooleanProperty(True)
    written = StringProperty("")  # what the idle screen will show

    def enter(self) -> None:
        super().enter()
        self.title = "人工窗口开放时间"
        current = App.get_running_app().config_.kiosk.counter_hours
        spans = parse_hours(current).spans
        simple = len(spans) == 1 and spans[0].written in DAYS and len(spans[0].times) <= 2
        if simple:
            self.days = spans[0].written
            minutes = [(a.hour * 60 + a.minute, b.hour * 60 + b.minute) for a, b in spans[0].times]
            minutes = [(a, 24 * 60 if b == 23 * 60 + 59 else b) for a, b in minutes]
            (self.first_open, self.first_close), *rest = minutes
            self.two_spans = bool(rest)
            if rest:
                self.second_open, self.second_close = rest[0]
        elif current:
            self.message = f"当前设置“{current}”较复杂，只能在配置文件中修改；在此保存将替换它。"
        self._write()
        for name, button in self.ids.items():
            if name.startswith("days_"):
                button.state = "down" if button.label == self.days else "normal"
        self.ids.two_spans.state = "down" if self.two_spans else "normal"

    def choose_days(self, words: str) -> None:
        self.keep_alive()
        self.days = words
        self._write()

    def toggle_second(self, button: Any) -> None:
        self.keep_alive()
        self.two_spans = button.state == "down"
        self._write()

    def step(self, what: str, delta: int) -> None:
        self.keep_alive()
        setattr(self, what, min(24 * 60, max(0, int(getattr(self, what)) + delta)))
        self._write()

    def _write(self) -> None:
        spans = [(self.first_open, self.first_close)]
        if self.two_spans:
            spans.append((self.second_open, self.second_close))
        times = "，".join(f"{_clock(int(a))}-{_clock(int(b))}" for a, b in spans)
        self.written = f"{self.days} {times}"

    def save(self) -> None:
        try:
            hours = parse_hours(self.written)
        except HoursError:
            self.message = "未能保存：每一段的结束时间要晚于开始时间。"
            return
        times = [t for span in hours.spans for t in span.times]
        if any(b > c for (_a, b), (c, _d) in itertools.pairwise(times)):
            self.message = "未能保存：第二段要在第一段结束之后开始。"
            return
        if self.apply({"kiosk.counter_hours": self.written}):
            self.message = "已保存，立即生效：需要工作人员的事项只在开放时间内提供。"


class StaffDevices(StaffScreen):
    """Readers, printers, the platform address and this kiosk's id. What is plugged in is
    offered to pick; a value is saved only after trying it succeeded, exactly as entered."""

    restart_pending = BooleanProperty(False)
    FIELDS: Final = (
        ("devices.readers", "读卡器（可填多个，用空格分开）"),
        ("devices.receipt_printer", "小票打印机（空：不用小票打印机）"),
        ("devices.certificate_printer", "A4 证明打印机（空：不用 A4 打印机）"),
        ("platform.url", "政务服务平台地址"),
        ("kiosk.id", "本机编号"),
    )
    ROLES: Final = {
        "devices.readers": Role.READER,
        "devices.receipt_printer": Role.RECEIPT_PRINTER,
        "devices.certificate_printer": Role.CERTIFICATE_PRINTER,
    }

    def enter(self) -> None:
        super().enter()
        self.title = "设备、平台与本机编号"
        self.tried: dict[str, str] = {}  # setting -> the text that was tried and passed
        self.rows: dict[str, dict[str, Any]] = {}
        box = self.ids.device_box
        box.clear_widgets()
        for name, words in self.FIELDS:
            self._add_row(box, name, words)
        self.message = "正在查找已连接的设备……"
        demo = App.get_running_app().config_.demo

        def look() -> None:
            found = discover(demo=demo)
            Clock.schedule_once(lambda _dt: self._offer(found))

        threading.Thread(target=look, name="discover", daemon=True).start()

    def _add_row(self, box: Any, name: str, words: str) -> None:
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.textinput import TextInput

        from screens.tokens import FONT, T

        app = App.get_running_app()
        section, key = name.split(".")
        current = getattr(getattr(app.config_, section), key)
        text = " ".join(current) if isinstance(current, tuple) else str(current)
        box.add_widget(KLabel(text=words))
        field = TextInput(
            text=text,
            multiline=False,
            font_name=FONT,
            font_size=sp(T.text_small),
            size_hint_y=None,
            height=dp(T.target_min),
            padding=(dp(16), dp(T.target_min - T.text_small * 1.3) / 2),
            write_tab=False,
        )
        field.bind(text=lambda _f, _t, n=name: self._edited(n))
        box.add_widget(field)
        offers = BoxLayout(orientation="vertical", size_hint_y=None, spacing=8)
        offers.bind(minimum_height=offers.setter("height"))
        box.add_widget(offers)
        buttons = BoxLayout(spacing=dp(24), size_hint_y=None, height=dp(T.target_min))
        trial = KButton(text="试一试")
        trial.bind(on_release=lambda _b, n=name: self.try_it(n))
        keep = KButton(text="保存")
        keep.bind(on_release=lambda _b, n=name: self.save(n))
        buttons.add_widget(trial)
        buttons.add_widget(keep)
        box.add_widget(buttons)
        result = KSmall(text="")
        box.add_widget(result)
        self.rows[name] = {"field": field, "offers": offers, "try": trial, "save": keep}
        self.rows[name]["result"] = result

    def _offer(self, found: Discovery) -> None:
        if App.get_running_app().manager.current != self.name:
            return
        self.message = "点“试一试”检查填写的设备或地址；通过后才能保存。"
        if found.problems:
            self.message += "（未能查找：" + "；".join(found.problems) + "）"
        for name, role in self.ROLES.items():
            offers = self.rows[name]["offers"]
            for item in found.for_role(role):
                pick = KButton(text=f"使用 {item.label}：{item.url}")
                pick.bind(on_release=lambda _b, n=name, u=item.url: self.pick(n, u))
                offers.add_widget(pick)

    def pick(self, name: str, url: str) -> None:
        """A found device fills the field; a second reader is added, not swapped in."""
        field = self.rows[name]["field"]
        if name == "devices.readers" and field.text.strip() and url not in field.text.split():
            field.text = f"{field.text.strip()} {url}"
        else:
            field.text = url

    def _edited(self, name: str) -> None:
        self.keep_alive()
        self.rows[name]["result"].text = ""

    def _value(self, name: str) -> Any:
        text = self.rows[name]["field"].text.strip()
        return tuple(text.split()) if name == "devices.readers" else text

    def try_it(self, name: str) -> None:
        app = App.get_running_app()
        self.keep_alive()
        value, text = self._value(name), self.rows[name]["field"].text.strip()
        result = self.rows[name]["result"]
        problem = _setting_problem(app.config_, name, value)
        if problem:
            result.text = f"✗ {problem}"
            return
        result.text = "正在尝试……"
        config, today, held = app.config_, app.kiosk.today(), app.selftest_held()

        def work() -> None:
            try:
                checks = try_setting(config, name, value, today=today, held=held)
            except Exception as error:  # noqa: BLE001 - said on the screen, not a dead thread
                checks = [Check(name, HealthLevel.INTERNAL, False, str(error), 0)]
            Clock.schedule_once(lambda _dt: self._tried(name, text, checks))

        threading.Thread(target=work, name="try-setting", daemon=True).start()

    def _tried(self, name: str, text: str, checks: list[Check]) -> None:
        if App.get_running_app().manager.current != self.name:
            return
        passed = all(c.ok is not False for c in checks)
        lines = [f"{MARKS[c.ok]} {c.name}：{c.detail}" for c in checks]
        if not checks:
            lines = ["✓ 不使用此设备：需要它的事项将不提供。"]
        self.rows[name]["result"].text = "\n".join(lines)
        if passed:
            self.tried[name] = text
        else:
            self.tried.pop(name, None)

    def save(self, name: str) -> None:
        self.keep_alive()
        text = self.rows[name]["field"].text.strip()
        if self.tried.get(name) != text:
            self.message = "请先点“试一试”，通过后再保存。"
            return
        if self.apply({name: self._value(name)}) and name in AT_NEXT_START:
            self.restart_pending = True
            self.message = "已保存，重新启动后生效。点下方“重新启动”立即生效。"

    def restart(self) -> None:
        App.get_running_app().restart()


def _setting_problem(config: Any, name: str, value: Any) -> str | None:
    """The configuration's own checks, before anything is opened."""
    import dataclasses

    from kiosk.config import SECTIONS

    section, key = name.split(".")
    field = next(f for f in dataclasses.fields(SECTIONS[section]) if f.name == key)
    if field.metadata["required"] and value in ("", ()) and not config.demo:
        return "不能为空：否则自助机无法启动。"
    for check in field.metadata["checks"]:
        problem = check(value)
        if problem:
            return str(problem)
    return None


class StaffHall(StaffScreen):
    """The hall's name (shown, not changed here: it is in the signing key's certificate) and
    the seal printed on certificates: a PNG from a USB stick, copied in, or the drawn seal."""

    hall = StringProperty("")
    seal = StringProperty("")  # the image in use, or "" for the drawn seal
    SEARCH: Final = (Path("/media"), Path("/run/media"), Path("/mnt"))

    def enter(self) -> None:
        super().enter()
        self.title = "大厅名称与印章"
        app = App.get_running_app()
        self.hall = app.config_.kiosk.hall_name
        self.seal = app.config_.kiosk.seal_image
        box = self.ids.seal_box
        box.clear_widgets()
        self.buttons: dict[str, Any] = {}
        found = find_seals((*self.SEARCH, app.config_.data_dir / "admin" / "seals"))
        if not found:
            box.add_widget(
                KSmall(
                    text="没有找到印章图片。请把透明背景的 PNG 印章图片放在 U 盘上插入本机，"
                    "再进入本页面。"
                )
            )
        for path in found:
            button = KButton(text=f"使用 {path}")
            button.bind(on_release=lambda _b, p=path: self.use(p))
            self.buttons[str(path)] = button
            box.add_widget(button)

    def use(self, source: Path | None) -> None:
        """Copy the chosen image into the data folder (the stick may be taken away), then
        set it; None: the drawn seal."""
        app = App.get_running_app()
        self.keep_alive()
        if source is None:
            if self.apply({"kiosk.seal_image": ""}):
                self.seal = ""
            return
        problem = seal_problem(source)
        if problem:
            self.message = f"未能使用：{problem}"
            return
        try:
            target = install_seal(source, app.config_.data_dir)
        except OSError as error:
            self.message = f"未能复制印章图片：{error}"
            return
        if self.apply({"kiosk.seal_image": str(target)}):
            self.seal = str(target)
            self.message = "已保存，此后打印的证明使用这个印章。"


SCREENS = (StaffHours, StaffDevices, StaffHall)
