"""The technician's self-test: every configured device at the design's health-check levels, and
what the kiosk stands on (disk, outbox, clock, platform, key, fonts, catalog, languages).

Each check says what it found in words a technician can act on; `ok` is None for a check that
could not run here (an interactive one without a person, a test card not on the reader). The
last report is kept in DATA_DIR/selftest.json (no personal data) and goes with the heartbeats.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from devices.base import HealthLevel, HealthResult, Outcome, Role
from devices.errors import DeviceError
from devices.registry import open_device
from devices.speaker import Speaker
from kiosk.config import Config

REPORT_FILE: Final = "selftest.json"
LEVELS: Final = (HealthLevel.INTERNAL, HealthLevel.EXTERNAL, HealthLevel.INTERACTIVE)
DEFAULT_LEVELS: Final = (HealthLevel.INTERNAL, HealthLevel.EXTERNAL)
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


def run_selftest(
    config: Config,
    levels: tuple[HealthLevel, ...] = DEFAULT_LEVELS,
    *,
    today: date,
    clock: Callable[[], float] = time.time,
) -> Report:
    checks: list[Check] = []
    for role, url in _devices(config):
        checks += _device_checks(role, url, levels)
    checks += _speaker_checks(config, levels)
    if HealthLevel.INTERACTIVE in levels:
        checks += [
            Check(name, HealthLevel.INTERACTIVE, None, "needs a person at the touchscreen", 0)
            for name in AT_THE_SCREEN
        ]
    if HealthLevel.INTERNAL in levels:
        checks += _kiosk_checks(config, today)
    return Report(checks, clock())


def save(config: Config, report: Report) -> Path:
    """DATA_DIR/selftest.json, written whole (a reader never sees half a report)."""
    from offline_cache.crypto import write_private_file

    path = config.data_dir / REPORT_FILE
    write_private_file(path, json.dumps(report.as_json(), ensure_ascii=False).encode())
    return path


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
def _devices(config: Config) -> list[tuple[Role, str]]:
    wanted = [(Role.READER, url) for url in config.devices.readers]
    wanted += [
        (role, url)
        for role, url in (
            (Role.RECEIPT_PRINTER, config.devices.receipt_printer),
            (Role.CERTIFICATE_PRINTER, config.devices.certificate_printer),
        )
        if url
    ]
    return wanted


def _from_health(name: str, level: HealthLevel, health: HealthResult, ms: int) -> Check:
    ok = {Outcome.PASSED: True, Outcome.FAILED: False, Outcome.NOT_RUN: None}[health.outcome]
    return Check(name, level, ok, health.summary, ms)


def _device_checks(role: Role, url: str, levels: tuple[HealthLevel, ...]) -> list[Check]:
    name = f"{ROLE_NAMES[role]} {url}"
    timer = _Timer()
    try:
        device = open_device(url, role)
    except DeviceError as error:
        return [
            Check(name, level, False, f"cannot be opened: {error}", timer.ms) for level in levels
        ]
    checks = []
    try:
        for level in levels:
            timer = _Timer()
            try:
                health = device.check_health(level)
            except DeviceError as error:
                checks.append(Check(name, level, False, str(error), timer.ms))
                continue
            checks.append(_from_health(name, level, health, timer.ms))
    finally:
        device.close()
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


def _kiosk_checks(config: Config, today: date) -> list[Check]:
    from kiosk.core import Kiosk

    checks: list[Check] = []
    kiosk = Kiosk(config, today=lambda: today)  # makes the data folder on a first run
    try:
        with _checking(checks, "disk") as found:
            free_mb = shutil.disk_usage(config.data_dir).free // 2**20
            floor = config.storage.min_free_mb
            if free_mb < floor:
                raise OSError(
                    f"{free_mb} MB free in {config.data_dir}, below the floor of {floor} MB: "
                    "the kiosk takes no new transactions; free space or check the queue"
                )
            found[0] = f"{free_mb} MB free in {config.data_dir} (floor {floor} MB)"
        with _checking(checks, "outbox") as found:
            status = kiosk.outbox.status()
            age = status["oldest_queued_age_s"]
            found[0] = (
                f"{kiosk.outbox.check()}; queued {status['queued']}, rejected "
                f"{status['rejected']}"
                + ("" if age is None else f", the oldest waiting {age:.0f} s")
            )
        checks += _platform_checks(config, kiosk, today)
        with _checking(checks, "catalog") as found:
            found[0] = f"{len(kiosk.catalog.items)} service items load and check"
    finally:
        kiosk.close(sync_timeout_s=2.0)
    with _checking(checks, "signing key") as found:
        found[0] = _signing_key(config, today)
    with _checking(checks, "fonts") as found:
        found[0] = _fonts()
    with _checking(checks, "languages") as found:
        from kiosk.i18n import LANGUAGES, catalog

        for lang in LANGUAGES:
            catalog(lang)
        found[0] = "catalogs load: " + ", ".join(LANGUAGES)
    return checks


def _platform_checks(config: Config, kiosk: Any, today: date) -> list[Check]:
    """Reachable, enrolled (a signed heartbeat is accepted), and the clock against its time."""
    from kiosk.platform import PlatformLink
    from offline_cache.client import MAX_SKEW_S

    checks: list[Check] = []
    link = PlatformLink(config, kiosk.outbox, today=today)
    try:
        with _checking(checks, "platform") as found:
            if link.worker is None:
                raise RuntimeError(link.problem or "sync is off")
            link.client.enrol()
            summary = last_summary(config.data_dir)
            link.client.heartbeat(
                {"version": "", "queue": _queue(kiosk.outbox.status())}
                | ({"selftest": summary} if summary else {})
            )
            found[0] = f"{link.client.url}: enrolled, a signed heartbeat was accepted"
        with _checking(checks, "clock") as found:
            skew = link.client.last_skew_s if link.worker is not None else None
            if skew is None:
                raise RuntimeError("the platform's time is unknown (it did not answer)")
            if abs(skew) > MAX_SKEW_S:
                raise RuntimeError(
                    f"this kiosk's clock is {skew:+.0f} s off the platform's (limit "
                    f"{MAX_SKEW_S:.0f} s): set the time (timedatectl) and check NTP"
                )
            found[0] = f"{skew:+.1f} s from the platform's time"
    finally:
        link.close(timeout_s=2.0)
    return checks


def _queue(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: status[k] for k in ("queued", "sending", "accepted", "rejected")} | {
        "oldest_queued_age_s": status["oldest_queued_age_s"]
    }


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
