"""The technician's self-test: every configured device at the design's health-check levels, and
what the kiosk stands on (disk, outbox, clock, platform, key, fonts, catalog, languages).

Each check says what it found in words a technician can act on; `ok` is None for a check that
could not run here (an interactive one without a person, a test card not on the reader). The
last report is kept in DATA_DIR/selftest.json (no personal data) and goes with the heartbeats.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from devices.base import Device, HealthLevel, HealthResult, Outcome, Role
from devices.errors import DeviceError
from devices.registry import open_device
from devices.speaker import Speaker
from kiosk.config import Config
from kiosk.console import configured_devices
from offline_cache.sync import SyncState, queue_summary

REPORT_FILE: Final = "selftest.json"
DEFAULT_LEVELS: Final = (HealthLevel.INTERNAL, HealthLevel.EXTERNAL)
TRY_LEVELS: Final = (HealthLevel.INTERNAL,)  # a device staff are about to save: present, ready
ROLE_NAMES: Final = {
    Role.READER: "reader",
    Role.RECEIPT_PRINTER: "receipt printer",
    Role.CERTIFICATE_PRINTER: "certificate printer",
}
# Asked of a person at the touchscreen; the technician screen runs them, a shell cannot.
AT_THE_SCREEN: Final = ("touch grid", "colour and contrast chart")


@dataclass(frozen=True)
class Check:
    name: str
    level: HealthLevel
    ok: bool | None  # None: not run here
    detail: str
    duration_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": self.level.value,
            "ok": self.ok,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class Report:
    checks: list[Check]
    at: float

    @property
    def ok(self) -> bool:
        """Every check that ran passed."""
        return all(c.ok is not False for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """The names of what failed, each once (a device fails at every level it was asked)."""
        return list(dict.fromkeys(c.name for c in self.checks if c.ok is False))

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "ok": self.ok, "checks": [c.as_json() for c in self.checks]}


class _Timer:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)


@dataclass(frozen=True)
class Held:
    """A device the running touchscreen holds: checked through its own handle, under the lock
    its other users take (a second handle would interleave bytes with the card monitor's or
    the printer watch's). None: the touchscreen could not open it (it keeps trying)."""

    device: Device | None
    lock: AbstractContextManager[Any]


def run_selftest(
    config: Config,
    levels: tuple[HealthLevel, ...] = DEFAULT_LEVELS,
    *,
    today: date,
    clock: Callable[[], float] = time.time,
    held: Mapping[tuple[Role, str], Held] | None = None,
    platform: SyncState | None = None,
) -> Report:
    """Every check; none stops the others. From a shell while the touchscreen runs, the devices
    are not touched (they are the touchscreen's: its technician screen checks them); from the
    touchscreen, `held` gives its devices and `platform` its sync worker's view."""
    checks: list[Check] = []
    busy = held is None and touchscreen_running(config.data_dir)
    for role, url in configured_devices(config):
        name = f"{ROLE_NAMES[role]} {url}"
        if busy:
            checks += [Check(name, level, None, BUSY, 0) for level in levels]
        elif held is not None and (role, url) in held:
            checks += _held_checks(name, held[role, url], levels)
        else:
            checks += _device_checks(role, url, levels)
    checks += _speaker_checks(config, levels)
    if HealthLevel.INTERACTIVE in levels:
        checks += [
            Check(name, HealthLevel.INTERACTIVE, None, "needs a person at the touchscreen", 0)
            for name in AT_THE_SCREEN
        ]
    if HealthLevel.INTERNAL in levels:
        checks += _kiosk_checks(config, today, platform)
    return Report(checks, clock())


def try_setting(
    config: Config,
    changes: Mapping[str, Any],
    *,
    today: date,
    held: Mapping[tuple[Role, str], Held] | None = None,
) -> list[Check]:
    """Try settings before staff save them: a device's URLs each opened and its internal check
    run (through the touchscreen's own handle where it already holds that device), or the
    platform address and kiosk id, together, enrolled with and sent a signed heartbeat."""
    if set(changes) & {"platform.url", "kiosk.id"}:
        tried = config
        for name, value in changes.items():
            section, key = name.split(".")
            part = dataclasses.replace(getattr(tried, section), **{key: value})
            tried = dataclasses.replace(tried, **{section: part})
        return _platform_checks(tried, None, today)
    checks = []
    for name, value in changes.items():
        role = Role(name.removeprefix("devices.").removesuffix("s"))
        for url in filter(None, (value,) if isinstance(value, str) else value):
            if held is not None and (role, url) in held:
                checks += _held_checks(f"{ROLE_NAMES[role]} {url}", held[role, url], TRY_LEVELS)
            else:
                checks += _device_checks(role, url, TRY_LEVELS)
    return checks


class AlreadyRunning(RuntimeError):
    pass


BUSY: Final = "not checked from a shell: the touchscreen is running and holds it (use 设备自检)"
RUN_LOCK: Final = "run.lock"


@contextmanager
def touchscreen_lock(data_dir: Path) -> Iterator[None]:
    """Held by `kiosk run` while the touchscreen has the devices."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / RUN_LOCK, "a+b") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another kiosk is already running on {data_dir}") from None
        yield


def touchscreen_running(data_dir: Path) -> bool:
    try:
        with open(data_dir / RUN_LOCK, "rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(file, fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def save(config: Config, report: Report) -> Path:
    """DATA_DIR/selftest.json, written whole (a reader never sees half a report). A run of some
    levels keeps the last results of the others: an interactive run alone must not make the
    heartbeat say that everything passed."""
    from offline_cache.crypto import write_private_file

    path = config.data_dir / REPORT_FILE
    ran = {(c.name, c.level.value) for c in report.checks}
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))["checks"]
        kept = [c for c in previous if (c.get("name"), c.get("level")) not in ran]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        kept = []
    checks = kept + [c.as_json() for c in report.checks]
    data = {"at": report.at, "ok": all(c.get("ok") is not False for c in checks), "checks": checks}
    write_private_file(path, json.dumps(data, ensure_ascii=False).encode())
    return path


def report_slip(config: Config, report: Report) -> bytes:
    """The report on the receipt printer (ESC/POS), for the technician's job sheet: when,
    which kiosk, and each check in a line. Device URLs and reasons only: nothing personal."""
    from datetime import datetime

    from kiosk.clock import SHANGHAI
    from kiosk.documents.receipt import Line, Receipt, render_escpos

    words = {True: "通过", False: "失败", None: "未做"}
    at = datetime.fromtimestamp(report.at, SHANGHAI).strftime("%Y-%m-%d %H:%M")
    lines = [
        Line("自助机自检报告", "title", "center"),
        Line(f"{config.kiosk.id} · {at}", align="center"),
        Line("", "rule"),
    ]
    for check in report.checks:
        lines.append(Line(f"[{words[check.ok]}] {check.name} ({check.level.value})", "heading"))
        lines.append(Line(check.detail))
    lines += [
        Line("", "rule"),
        Line("结论：全部通过" if report.ok else f"结论：{len(report.failed)} 项未通过", "heading"),
    ]
    return render_escpos(Receipt("SELFTEST", tuple(lines)), 58)  # as the receipts (issuing)


def last_summary(data_dir: Path) -> dict[str, Any] | None:
    """What the heartbeat carries of the last self-test: when, whether it passed, what failed."""
    try:
        data = json.loads((data_dir / REPORT_FILE).read_text(encoding="utf-8"))
        checks = data["checks"]
        return {
            "at": float(data["at"]),
            "ok": bool(data["ok"]),
            "failed": list(dict.fromkeys(str(c["name"]) for c in checks if c.get("ok") is False)),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- devices -------------------------------------------------------------------------------------
def _from_health(name: str, level: HealthLevel, health: HealthResult, ms: int) -> Check:
    ok = {Outcome.PASSED: True, Outcome.FAILED: False, Outcome.NOT_RUN: None}[health.outcome]
    return Check(name, level, ok, health.summary, ms)


def _device_checks(role: Role, url: str, levels: tuple[HealthLevel, ...]) -> list[Check]:
    name = f"{ROLE_NAMES[role]} {url}"
    timer = _Timer()
    try:
        device = open_device(url, role)
    except DeviceError as error:
        return _unopened(name, levels, f"cannot be opened: {error}", timer.ms)
    try:
        return _health_checks(name, device, levels)
    finally:
        device.close()


def _held_checks(name: str, held: Held, levels: tuple[HealthLevel, ...]) -> list[Check]:
    with held.lock:
        if held.device is None:
            return _unopened(name, levels, "the touchscreen cannot open it (it keeps trying)", 0)
        return _health_checks(name, held.device, levels)


def _unopened(name: str, levels: tuple[HealthLevel, ...], detail: str, ms: int) -> list[Check]:
    # An interactive check is never "failed" without a person: it is not run.
    return [
        Check(name, level, None if level is HealthLevel.INTERACTIVE else False, detail, ms)
        for level in levels
    ]


def _health_checks(name: str, device: Device, levels: tuple[HealthLevel, ...]) -> list[Check]:
    checks = []
    for level in levels:
        timer = _Timer()
        try:
            health = device.check_health(level)
        except Exception as error:  # noqa: BLE001 - one device's surprise fails its check only
            checks.append(Check(name, level, False, str(error) or type(error).__name__, timer.ms))
            continue
        checks.append(_from_health(name, level, health, timer.ms))
    return checks


def _speaker_checks(config: Config, levels: tuple[HealthLevel, ...]) -> list[Check]:
    voice = config.voice
    if not voice.enabled:
        return [
            Check("speaker", level, None, "voice is off (voice.enabled)", 0) for level in levels
        ]
    speaker = Speaker(
        voice=voice.voice, volume=voice.volume, play=False, other_voices=(voice.voice_en,)
    )
    checks = []
    try:
        for level in levels:
            timer = _Timer()
            if level is HealthLevel.EXTERNAL:
                checks.append(_voice_sample(speaker, timer))
                continue
            checks.append(_from_health("speaker", level, speaker.check_health(level), timer.ms))
    finally:
        speaker.close()
    if config.demo:
        # Demo mode needs no sound card: captions carry the prompts. Say so, do not fail.
        checks = [
            Check(c.name, c.level, None, f"{c.detail} (demo mode does not need one)", c.duration_ms)
            if c.ok is False and "no sound card" in c.detail
            else c
            for c in checks
        ]
    return checks


def _voice_sample(speaker: Speaker, timer: _Timer) -> Check:
    """A sample prompt synthesised and played (on a kiosk with a sound card)."""
    from devices.speaker import SpeechUnavailable

    try:
        wav = speaker.synthesize("自助机语音测试。")
        speaker.play_once(wav)
    except SpeechUnavailable as error:
        return Check("speaker", HealthLevel.EXTERNAL, False, f"voice sample: {error}", timer.ms)
    return Check("speaker", HealthLevel.EXTERNAL, True, "played a voice sample", timer.ms)


# --- what the kiosk stands on --------------------------------------------------------------------
@contextmanager
def _checking(checks: list[Check], name: str) -> Iterator[list[str]]:
    """One internal check: the body appends its finding; an exception is its failure."""
    timer, found = _Timer(), [""]
    try:
        yield found
    except Exception as error:  # noqa: BLE001 - a self-test reports, it does not stop
        detail = str(error) or type(error).__name__
        checks.append(Check(name, HealthLevel.INTERNAL, False, detail, timer.ms))
        return
    checks.append(Check(name, HealthLevel.INTERNAL, True, found[0], timer.ms))


def _kiosk_checks(config: Config, today: date, platform: SyncState | None) -> list[Check]:
    """What the kiosk stands on. Read-only: the outbox is opened as it is (no purge, no lease
    recovery: that is the running kiosk's work), and nothing is made where nothing was."""
    from kiosk.catalog import load_catalog
    from kiosk.core import OUTBOX_FILE
    from offline_cache.outbox import Outbox

    checks: list[Check] = []
    with _checking(checks, "disk") as found:
        if config.demo:
            config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # demo makes its own
        if not config.data_dir.is_dir():
            raise OSError(f"{config.data_dir} does not exist (data_dir): check the setting")
        free_mb = shutil.disk_usage(config.data_dir).free // 2**20
        floor = config.storage.min_free_mb
        if free_mb < floor:
            raise OSError(
                f"{free_mb} MB free in {config.data_dir}, below the floor of {floor} MB: "
                "the kiosk takes no new transactions; free space or check the queue"
            )
        found[0] = f"{free_mb} MB free in {config.data_dir} (floor {floor} MB)"
    outbox: Outbox | None = None
    with _checking(checks, "outbox") as found:
        path = config.data_dir / OUTBOX_FILE
        if not path.exists():
            found[0] = f"no outbox yet at {path}: nothing was ever queued here"
        else:
            outbox = Outbox(path, min_free_bytes=config.storage.min_free_mb * 2**20, create=False)
            status = outbox.status()
            age = status["oldest_queued_age_s"]
            found[0] = (
                f"{outbox.check()}; queued {status['queued']}, rejected {status['rejected']}"
                + ("" if age is None else f", the oldest waiting {age:.0f} s")
            )
    try:
        if platform is not None:
            checks += _platform_seen(config, platform)
        else:
            checks += _platform_checks(config, outbox, today)
    finally:
        if outbox is not None:
            outbox.close()
    with _checking(checks, "catalog") as found:
        found[0] = f"{len(load_catalog().items)} service items load and check"
    with _checking(checks, "signing key") as found:
        found[0] = _signing_key(config, today)
    with _checking(checks, "fonts") as found:
        found[0] = _fonts()
    with _checking(checks, "audit log") as found:
        from kiosk.staff import read_audit, verify_audit

        broken = verify_audit(config.data_dir)
        if broken:
            raise RuntimeError(f"the staff audit log was altered: {broken}")
        found[0] = f"{len(read_audit(config.data_dir))} lines, each following the one before"
    with _checking(checks, "languages") as found:
        from kiosk.i18n import LANGUAGES, catalog

        for lang in LANGUAGES:
            catalog(lang)
        found[0] = "catalogs load: " + ", ".join(LANGUAGES)
    return checks


def _platform_seen(config: Config, state: SyncState) -> list[Check]:
    """The platform as the touchscreen's own sync worker sees it: no second client."""
    checks: list[Check] = []
    with _checking(checks, "platform") as found:
        if state.paused:
            raise RuntimeError(f"sync is paused: {state.paused}")
        if not state.online:
            raise RuntimeError(f"no answer from {config.platform.url}: {state.last_error or '?'}")
        found[0] = f"{config.platform.url}: enrolled, heartbeats are answered"
    with _checking(checks, "clock") as found:
        if state.clock_skew:
            raise RuntimeError(
                "this kiosk's clock is off the platform's by more than the limit: set the time "
                "(timedatectl) and check NTP"
            )
        if not state.online:
            raise RuntimeError("the platform's time is unknown (it did not answer)")
        found[0] = "within the limit of the platform's time"
    return checks


def _platform_checks(config: Config, outbox: Any, today: date) -> list[Check]:
    """Reachable, enrolled (a signed heartbeat is accepted), and the clock against its time."""
    from importlib.metadata import version

    from kiosk.platform import PlatformLink
    from offline_cache.client import MAX_SKEW_S
    from offline_cache.outbox import Outbox

    checks: list[Check] = []
    link: PlatformLink | None = None
    spare = tempfile.TemporaryDirectory(prefix="kiosk-selftest-")
    spares: list[Outbox] = []
    with _checking(checks, "platform") as found:
        # The link needs an outbox to report on: an empty one when this kiosk has none yet.
        box = outbox or Outbox(Path(spare.name) / "outbox.sqlite3", min_free_bytes=0)
        if box is not outbox:
            spares.append(box)
        link = PlatformLink(config, box, today=today)
        if link.worker is None:
            raise RuntimeError(link.problem or "sync is off")
        link.client.enrol()
        report = {"version": version("community-kiosk"), "queue": queue_summary(box.status())}
        summary = last_summary(config.data_dir)
        link.client.heartbeat(report | ({"selftest": summary} if summary else {}))
        found[0] = f"{link.client.url}: enrolled, a signed heartbeat was accepted"
    try:
        with _checking(checks, "clock") as found:
            skew = link.client.last_skew_s if link is not None and link.worker is not None else None
            if skew is None:
                raise RuntimeError("the platform's time is unknown (it did not answer)")
            if abs(skew) > MAX_SKEW_S:
                raise RuntimeError(
                    f"this kiosk's clock is {skew:+.0f} s off the platform's (limit "
                    f"{MAX_SKEW_S:.0f} s): set the time (timedatectl) and check NTP"
                )
            found[0] = f"{skew:+.1f} s from the platform's time"
    finally:
        if link is not None:
            link.close(timeout_s=2.0)
        for box in spares:
            box.close()
        spare.cleanup()
    return checks


def _signing_key(config: Config, today: date) -> str:
    from kiosk.trust import demo_signer, kiosk_signer

    args = (config.data_dir, config.kiosk.id, config.kiosk.hall_name, today)
    (demo_signer if config.demo else kiosk_signer)(*args)  # NotGenuine says what is wrong
    return f"certificates can be signed ({'demo key' if config.demo else 'certified key'})"


def _fonts() -> str:
    from kiosk.documents.fonts import FONT_PATH, SCREEN_FONTS, pdf_font

    missing = [str(p) for p in SCREEN_FONTS if not p.exists()]
    if missing:
        raise OSError(f"screen fonts missing: {', '.join(missing)} (Debian fonts-noto-cjk)")
    pdf_font()
    return f"screen fonts and the document font ({FONT_PATH.name}) load"
