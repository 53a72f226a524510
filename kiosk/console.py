"""`kiosk run` without a touchscreen: check the configured devices, and in demo mode take one
synthetic resident through identification and a printed slip. The Kivy application replaces
this as what `kiosk run` shows; the device check stays as its start-up step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from devices.base import (
    CardReader,
    Device,
    HealthLevel,
    HealthResult,
    Outcome,
    Printer,
    PrintJob,
    Role,
)
from devices.errors import DeviceError
from devices.registry import open_device
from kiosk.clock import now_local, today_local
from kiosk.config import Config

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


def configured_devices(config: Config) -> list[tuple[Role, str]]:
    """Every reader and printer the configuration names, with its role."""
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


def check_devices(config: Config) -> list[DeviceReport]:
    """Open each configured device and run its internal (side-effect-free) check."""
    reports = []
    for role, url in configured_devices(config):
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
        "This run checks the devices without the touchscreen"
        + (" and walks one synthetic resident through a queue ticket." if config.demo else ".")
    )
    say()
    reports = check_devices(config)
    try:
        for report in reports:
            mark = "ok  " if report.ok else "FAIL"
            say(f"  {mark} {ROLE_WORDS[report.role]:<32} {report.url:<28} {report.summary}")
        if not reports:
            say("  no devices are configured")
        if config.voice.enabled:
            # Not a reason to stop serving: without sound, prompts are shown as captions.
            voice = speaker_health(config)
            mark = "ok  " if voice.outcome is Outcome.PASSED else "warn"
            say(f"  {mark} {'speaker (spoken prompts)':<32} {voice.device:<28} {voice.summary}")
        failed = [r for r in reports if not r.ok]
        if failed:
            say()
            say(
                "暂停服务 Out of service: a device the kiosk needs is not working (hardware). "
                "Fix the device or its URL in the configuration, then run again."
            )
            return 1
        if config.demo:
            _demo_session(config, reports, say)
        say()
        say("完成 Done: every configured device answered.")
        return 0
    finally:
        for report in reports:
            if report.device is not None:
                report.device.close()


def _demo_session(config: Config, reports: list[DeviceReport], say: Callable[[str], None]) -> None:
    """One synthetic resident: card, a queue ticket, committed to the outbox, receipt printed."""
    from kiosk.core import Kiosk
    from kiosk.documents.compose import transaction_receipt
    from kiosk.documents.receipt import render_escpos, render_text
    from kiosk.session import Session

    reader = next(r.device for r in reports if isinstance(r.device, CardReader))
    printer = next(
        (
            r.device
            for r in reports
            if isinstance(r.device, Printer) and r.role is Role.RECEIPT_PRINTER
        ),
        None,
    )
    assert isinstance(reader, CardReader)
    say("")
    say("一位演示居民放置了身份证 A synthetic resident places a card:")
    record = reader.read_card(timeout=2)
    if record is None:
        say("  no card came within 2 s")
        return
    kiosk = Kiosk(config)
    try:
        kiosk.card_removed()  # the demo reader was empty before this card
        session = kiosk.card_read(record, kiosk.generation)
        if not isinstance(session, Session):
            say(f"  {session.message if session else 'the read was dropped'}")
            return
        identity = session.identity
        today = today_local()
        until = "长期 (for life)" if identity.long_term else str(identity.valid_until)
        say(
            f"  {identity.card_type.zh} ({identity.card_type.en}) of {identity.masked_name}, "
            f"ID {identity.masked_id}, age {identity.age_on(today)}, valid until {until}"
        )
        session.start_choosing()
        session.choose("queue-ticket")
        session.set_value("business", "social_and_medical_insurance")
        session.review()
        number = kiosk.commit_transaction(session)
        say(f"  窗口取号 queue ticket committed to the outbox as {number} (已受理)")
        assert session.item is not None
        receipt = transaction_receipt(
            number=number,
            item=session.item,
            identity=identity,
            values=session.values,
            hall_name=config.kiosk.hall_name,
            at=now_local(),
            demo=config.demo,
            track_url=f"{config.platform.url.rstrip('/')}/track/{number}",
        )
        if printer is not None:
            data = render_escpos(receipt, 58)
            printer.print_job(PrintJob(printer.accepts, data, number))
            say(f"  凭条打印机 printed the receipt ({len(data)} bytes of ESC/POS):")
        for line in render_text(receipt, 58).splitlines():
            say(f"    | {line}")
        del identity
        say(f"  {kiosk.end_session('finished')}")
        say(f"  outbox: {kiosk.outbox.status()}")
    finally:
        kiosk.close()


def speaker_health(config: Config) -> HealthResult:
    from devices.speaker import Speaker

    speaker = Speaker(
        voice=config.voice.voice,
        volume=config.voice.volume,
        play=False,
        other_voices=(config.voice.voice_en,),
    )
    try:
        return speaker.check_health(HealthLevel.INTERNAL)
    finally:
        speaker.close()
