"""`kiosk run` without a touchscreen: check the configured devices, and in demo mode take one
synthetic resident through identification and a printed slip. The Kivy application replaces
this as what `kiosk run` shows; the device check stays as its start-up step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from devices.base import CardReader, Device, HealthLevel, Outcome, Printer, PrintJob, Role
from devices.errors import DeviceError
from devices.registry import open_device
from kiosk.clock import today_local
from kiosk.config import Config
from kiosk.identity import IdentityError, identity_from_card

ROLE_WORDS = {
    Role.READER: "读卡器 card reader",
    Role.RECEIPT_PRINTER: "凭条打印机 receipt printer",
    Role.CERTIFICATE_PRINTER: "证明打印机 certificate printer",
}


@dataclass
class DeviceReport:
    role: Role
    url: str
    ok: bool
    summary: str
    device: Device | None = None


def check_devices(config: Config) -> list[DeviceReport]:
    """Open each configured device and run its internal (side-effect-free) check."""
    wanted = [(Role.READER, url) for url in config.devices.readers]
    wanted += [
        (role, url)
        for role, url in (
            (Role.RECEIPT_PRINTER, config.devices.receipt_printer),
            (Role.CERTIFICATE_PRINTER, config.devices.certificate_printer),
        )
        if url
    ]
    reports = []
    for role, url in wanted:
        try:
            device = open_device(url, role)
        except DeviceError as error:
            reports.append(DeviceReport(role, url, False, str(error)))
            continue
        result = device.check_health(HealthLevel.INTERNAL)
        reports.append(
            DeviceReport(role, url, result.outcome is Outcome.PASSED, result.summary, device)
        )
    return reports


def run_console(config: Config, out: TextIO) -> int:
    def say(text: str = "") -> None:
        print(text, file=out)

    if config.demo:
        say("演示模式 DEMO MODE: simulated devices and synthetic residents; nothing here is real.")
    say(
        f"自助机 Kiosk {config.kiosk.id or '(no id)'} · "
        f"{config.kiosk.hall_name or '(no hall name)'} · configuration: {config.source}"
    )
    say(
        "The touchscreen application comes in a later release; this run checks the devices"
        + (" and walks one synthetic resident through identification." if config.demo else ".")
    )
    say()
    reports = check_devices(config)
    try:
        for report in reports:
            mark = "ok  " if report.ok else "FAIL"
            say(f"  {mark} {ROLE_WORDS[report.role]:<32} {report.url:<28} {report.summary}")
        if not reports:
            say("  no devices are configured")
        failed = [r for r in reports if not r.ok]
        if failed:
            say()
            say(
                "暂停服务 Out of service: a device the kiosk needs is not working (hardware). "
                "Fix the device or its URL in the configuration, then run again."
            )
            return 1
        if config.demo:
            _demo_session(reports, say)
        say()
        say("完成 Done: every configured device answered.")
        return 0
    finally:
        for report in reports:
            if report.device is not None:
                report.device.close()


def _demo_session(reports: list[DeviceReport], say: Callable[[str], None]) -> None:

    reader = next(r.device for r in reports if isinstance(r.device, CardReader))
    assert isinstance(reader, CardReader)
    say("")
    say("一位演示居民放置了身份证 A synthetic resident places a card:")
    record = reader.read_card(timeout=2)
    if record is None:
        say("  no card came within 2 s")
        return
    try:
        identity = identity_from_card(record)
    except IdentityError as error:
        say(f"  卡片信息无法识别 the card's data is not valid: {error}")
        return
    today = today_local()
    until = "长期 (for life)" if identity.long_term else str(identity.valid_until)
    say(
        f"  {identity.card_type.zh} ({identity.card_type.en}) of {identity.masked_name}, "
        f"ID {identity.masked_id}, age {identity.age_on(today)}, valid until {until}"
        + (" (EXPIRED)" if identity.is_expired(today) else "")
    )
    for report in reports:
        if isinstance(report.device, Printer) and report.role is Role.RECEIPT_PRINTER:
            slip = "演示 DEMO\n自助机自检凭条 kiosk test slip\n".encode("gb18030")
            report.device.print_job(PrintJob(report.device.accepts, slip, "demo-test-slip"))
            say(f"  凭条打印机 printed a test slip ({len(slip)} bytes)")
    say("  会话结束，卡片信息已清除 Session over: the card data has been cleared from memory.")
    del identity
