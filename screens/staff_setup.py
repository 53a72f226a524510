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
from kivy.metrics import dp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from devices.base import HealthLevel, Role
from devices.discover import Discovery, discover
from kiosk.config import split_urls
from kiosk.documents.seal import find_seals, install_seal, remove_other_seals, seal_problem
from kiosk.hours import HoursError, parse_hours
from kiosk.selftest import Check, try_setting
from kiosk.staff import EMPTY_REQUIRED, pending, setting_problem
from screens.staff import MARKS, StaffScreen
from screens.tokens import T
from screens.widgets import KButton, KLabel, KSmall, url_field

Builder.load_file(str(Path(__file__).with_name("staff_setup.kv")))

DAYS = {"每天": "every", "工作日": "weekdays", "周一至周六": "mon_sat"}
STEP_MIN = 30
DEFAULT_SPANS = [(8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30)]


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


class StaffHours(StaffScreen):
    """The staffed windows' hours, set with buttons (no typing): which days, and one or two
    spans in half hours. Items that need staff are offered only then."""

    SCREEN_NAME = "staff_hours"

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
        try:
            spans = parse_hours(current).spans
        except HoursError:
            spans = ()
        simple = len(spans) == 1 and spans[0].written in DAYS and len(spans[0].times) <= 2
        if simple:
            self.days = spans[0].written
            (self.first_open, self.first_close), *rest = spans[0].times
            self.two_spans = bool(rest)
            if rest:
                self.second_open, self.second_close = rest[0]
        if current and not (simple and current == self._written()):
            self.message = f"现在的设置是“{current}”；保存将按下面显示的写法替换它。"
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
        self.written = self._written()

    def _written(self) -> str:
        spans = [(self.first_open, self.first_close)]
        if self.two_spans:
            spans.append((self.second_open, self.second_close))
        times = "，".join(f"{_clock(int(a))}-{_clock(int(b))}" for a, b in spans)
        return f"{self.days} {times}"

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
    """Readers, printers, and the platform address with this kiosk's id (tried and saved
    together: one is enrolled with the other). What is plugged in is offered to pick; a value is
    saved only after trying exactly it succeeded, and applies from the next start."""

    SCREEN_NAME = "staff_devices"

    restart_pending = BooleanProperty(False)
    FIELDS: Final = {
        "devices.readers": "读卡器（可填多个，用空格分开）",
        "devices.receipt_printer": "小票打印机（空：不用小票打印机）",
        "devices.certificate_printer": "A4 证明打印机（空：不用 A4 打印机）",
        "platform.url": "政务服务平台地址",
        "kiosk.id": "本机编号",
    }
    GROUPS: Final = (
        ("devices.readers",),
        ("devices.receipt_printer",),
        ("devices.certificate_printer",),
        ("platform.url", "kiosk.id"),
    )
    ROLES: Final = {
        "devices.readers": Role.READER,
        "devices.receipt_printer": Role.RECEIPT_PRINTER,
        "devices.certificate_printer": Role.CERTIFICATE_PRINTER,
    }
    _visit = 0  # each entry is a visit; a late answer of an earlier one is dropped

    def enter(self) -> None:
        super().enter()
        self.title = "设备、平台与本机编号"
        app = App.get_running_app()
        self._visit += 1
        visit = self._visit
        self.tried: dict[tuple[str, ...], tuple[str, ...]] = {}  # group -> the texts that passed
        self.fields: dict[str, Any] = {}
        self.groups: dict[tuple[str, ...], dict[str, Any]] = {}
        saved = pending(app.config_)
        self.restart_pending = bool(saved)
        box = self.ids.device_box
        box.clear_widgets()
        for group in self.GROUPS:
            self._add_group(box, group, saved)
        self.message = "正在查找已连接的设备……"
        demo = app.config_.demo

        def look() -> None:
            found = discover(demo=demo)
            Clock.schedule_once(lambda _dt: self._offer(found, visit))

        threading.Thread(target=look, name="discover", daemon=True).start()

    def _add_group(self, box: Any, group: tuple[str, ...], saved: dict[str, Any]) -> None:
        from kivy.uix.boxlayout import BoxLayout

        app = App.get_running_app()
        rows: dict[str, Any] = {}
        for name in group:
            section, key = name.split(".")
            current = saved.get(name, getattr(getattr(app.config_, section), key))
            text = " ".join(current) if isinstance(current, list | tuple) else str(current)
            box.add_widget(KLabel(text=self.FIELDS[name]))
            field = url_field(text)
            field.bind(text=lambda _f, _t, g=group: self._edited(g))
            box.add_widget(field)
            self.fields[name] = field
            offers = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(8))
            offers.bind(minimum_height=offers.setter("height"))
            box.add_widget(offers)
            rows[name] = offers
        buttons = BoxLayout(spacing=dp(24), size_hint_y=None, height=dp(T.target_min))
        trial = KButton(text="试一试")
        trial.bind(on_release=lambda _b, g=group: self.try_it(g))
        keep = KButton(text="保存")
        keep.bind(on_release=lambda _b, g=group: self.save(g))
        buttons.add_widget(trial)
        buttons.add_widget(keep)
        box.add_widget(buttons)
        note = next((n for n in group if n in saved), None)
        result = KSmall(text="已保存，重新启动后生效。" if note else "")
        box.add_widget(result)
        self.groups[group] = {"offers": rows, "try": trial, "save": keep, "result": result}

    def _offer(self, found: Discovery, visit: int) -> None:
        if visit != self._visit or App.get_running_app().manager.current != self.name:
            return
        self.message = "点“试一试”检查填写的设备或地址；通过后才能保存。"
        if found.problems:
            self.message += "（未能查找：" + "；".join(found.problems) + "）"
        for name, role in self.ROLES.items():
            offers = self.groups[(name,)]["offers"][name]
            for item in found.for_role(role):
                pick = KButton(text=f"使用 {item.label}：{item.url}")
                pick.bind(on_release=lambda _b, n=name, u=item.url: self.pick(n, u))
                offers.add_widget(pick)

    def pick(self, name: str, url: str) -> None:
        """A found device fills the field; a second reader is added, not swapped in."""
        field = self.fields[name]
        if name == "devices.readers" and field.text.strip():
            if url not in split_urls(field.text):
                field.text = f"{field.text.strip()} {url}"
        else:
            field.text = url

    def _edited(self, group: tuple[str, ...]) -> None:
        self.keep_alive()
        self.groups[group]["result"].text = ""

    def _values(self, group: tuple[str, ...]) -> dict[str, Any]:
        return {n: _value(n, self.fields[n].text) for n in group}

    def _texts(self, group: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self.fields[n].text.strip() for n in group)

    def try_it(self, group: tuple[str, ...]) -> None:
        app = App.get_running_app()
        self.keep_alive()
        values, texts = self._values(group), self._texts(group)
        result = self.groups[group]["result"]
        self.tried.pop(group, None)
        problems = [p for n, v in values.items() if (p := _setting_problem(app.config_, n, v))]
        problems = list(dict.fromkeys(problems))  # the pair may share one reason
        if problems:
            result.text = "× " + "；".join(problems)
            return
        result.text = TRYING
        config, today, held = app.config_, app.kiosk.today(), app.selftest_held()
        visit = self._visit

        def work() -> None:
            try:
                checks = try_setting(config, values, today=today, held=held)
            except Exception as error:  # noqa: BLE001 - said on the screen, not a dead thread
                checks = [Check("try", HealthLevel.INTERNAL, False, str(error), 0)]
            Clock.schedule_once(lambda _dt: self._tried(group, texts, checks, visit))

        threading.Thread(target=work, name="try-setting", daemon=True).start()

    def _tried(
        self, group: tuple[str, ...], texts: tuple[str, ...], checks: list[Check], visit: int
    ) -> None:
        if visit != self._visit or App.get_running_app().manager.current != self.name:
            return
        lines = [f"{MARKS[c.ok]} {c.name}：{c.detail}" for c in checks]
        if not checks:
            lines = ["✓ 不使用此设备：需要它的事项将不提供。"]
        self.groups[group]["result"].text = "\n".join(lines)
        if all(c.ok is not False for c in checks) and texts == self._texts(group):
            self.tried[group] = texts

    def save(self, group: tuple[str, ...]) -> None:
        self.keep_alive()
        if self.tried.get(group) != self._texts(group):
            self.message = "请先点“试一试”，通过后再保存。"
            return
        if self.apply(self._values(group)):
            self.restart_pending = bool(pending(App.get_running_app().config_))
            self.groups[group]["result"].text = "已保存，重新启动后生效。"
            self.message = "已保存，重新启动后生效。点下方“重新启动”立即生效。"

    def restart(self) -> None:
        App.get_running_app().restart()


TRYING = "正在尝试……"


def _value(name: str, text: str) -> Any:
    return split_urls(text) if name == "devices.readers" else text.strip()


def _setting_problem(config: Any, name: str, value: Any) -> str | None:
    """What would make saving pointless or harmful, before anything is opened: an environment
    variable that wins over staff settings, demo mode's fixed platform, and the
    configuration's own checks (kiosk.staff.setting_problem)."""
    origin = str(config.origins.get(name, ""))
    if origin.startswith("environment "):
        return f"{name} 由{origin.replace('environment ', '环境变量 ')} 设定，在此保存无效。"
    if config.demo and name in ("platform.url", "kiosk.id"):
        return "演示模式使用本机的演示平台，平台地址和本机编号不能更改。"
    _value, problem = setting_problem(config, name, value)
    if problem == EMPTY_REQUIRED:
        return f"{name} 不能为空：否则自助机无法启动。"
    return None if problem is None else f"{name}：{problem}"


class StaffHall(StaffScreen):
    """The hall's name (shown, not changed here: it is in the signing key's certificate) and
    the seal printed on certificates: a PNG from a USB stick, checked and copied in, or the
    drawn seal. Looking through the stick and reading images happen off the UI thread."""

    SCREEN_NAME = "staff_hall"

    hall = StringProperty("")
    seal = StringProperty("")  # the image in use, or "" for the drawn seal
    SEARCH: Final = (Path("/media"), Path("/run/media"), Path("/mnt"))
    _visit = 0

    def enter(self) -> None:
        super().enter()
        self.title = "大厅名称与印章"
        app = App.get_running_app()
        self.hall = app.config_.kiosk.hall_name
        self.seal = app.config_.kiosk.seal_image
        self.ids.seal_box.clear_widgets()
        self.buttons: dict[str, Any] = {}
        self._visit += 1
        visit = self._visit
        places = (*self.SEARCH, app.config_.data_dir / "admin" / "seals")
        self.message = "正在查找 U 盘上的印章图片……"

        def look() -> None:
            found = find_seals(places)
            Clock.schedule_once(lambda _dt: self._offer(found, visit))

        threading.Thread(target=look, name="find-seals", daemon=True).start()

    def _offer(self, found: list[Path], visit: int) -> None:
        if visit != self._visit or App.get_running_app().manager.current != self.name:
            return
        self.message = ""
        box = self.ids.seal_box
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
        """The chosen image, checked and copied in (off the UI thread), then set; None: the
        drawn seal."""
        app = App.get_running_app()
        self.keep_alive()
        if source is None:
            if self.apply({"kiosk.seal_image": ""}):
                self.seal = ""
            return
        self.message = "正在检查图片……"
        data_dir, visit = app.config_.data_dir, self._visit

        def work() -> None:
            problem = seal_problem(source)
            target: Path | None = None
            if problem is None:
                try:
                    target = install_seal(source, data_dir)
                except OSError as error:
                    problem = f"未能复制印章图片（{error.strerror or error}）。"
            Clock.schedule_once(lambda _dt: self._installed(target, problem, visit))

        threading.Thread(target=work, name="install-seal", daemon=True).start()

    def _installed(self, target: Path | None, problem: str | None, visit: int) -> None:
        if visit != self._visit or App.get_running_app().manager.current != self.name:
            return
        if target is None:
            self.message = f"未能使用：{problem}"
            return
        if self.apply({"kiosk.seal_image": str(target)}):
            remove_other_seals(App.get_running_app().config_.data_dir, str(target))
            self.seal = str(target)
            self.message = "已保存，此后打印的证明使用这个印章。"


SCREENS = (StaffHours, StaffDevices, StaffHall)
