"""What is plugged in, as device URLs a technician can pick instead of typing them: serial ports
by their stable /dev/serial/by-id names, PC/SC readers, USB printers by vendor:product, and CUPS
queues. Each finder looks only; nothing is opened, so a device the kiosk holds is not disturbed.
A finder that cannot look (no pcscd, no cupsd) finds nothing and says why.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devices.base import Role

SERIAL_BY_ID = Path("/dev/serial/by-id")
USB_DEVICES = Path("/sys/bus/usb/devices")
USB_PRINTER_CLASS = "07"
FINDER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Found:
    role: Role
    url: str
    label: str  # what it is, for the technician


@dataclass(frozen=True)
class Discovery:
    found: tuple[Found, ...]
    problems: tuple[str, ...]  # finders that could not look, and why

    def for_role(self, role: Role) -> list[Found]:
        return [f for f in self.found if f.role is role]


def discover(*, demo: bool = False, timeout_s: float = FINDER_TIMEOUT_S) -> Discovery:
    """Every finder at once, each on its own thread: one that hangs (a cupsd that takes the
    connection and never answers) is reported after `timeout_s`, and the others still count."""
    finders: dict[str, Callable[[], list[Found]]] = {
        "serial": _serial,
        "pcsc": _pcsc,
        "usb": _usb_printers,
        "cups": _cups,
    }
    results: dict[str, list[Found] | BaseException] = {}

    def run(name: str, finder: Callable[[], list[Found]]) -> None:
        try:
            results[name] = finder()
        except Exception as error:  # noqa: BLE001 - a finder that cannot look finds nothing
            results[name] = error

    threads = [
        threading.Thread(target=run, args=item, name=f"find-{item[0]}", daemon=True)
        for item in finders.items()
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    found: list[Found] = []
    problems: list[str] = []
    for name in finders:
        result = results.get(name)
        if result is None:
            problems.append(f"{name}: no answer within {timeout_s:g} s")
        elif isinstance(result, BaseException):
            problems.append(f"{name}: {result}")
        else:
            found += result
    if demo:
        found += [
            Found(Role.READER, "sim://", "模拟读卡器（演示）"),
            Found(Role.RECEIPT_PRINTER, "sim://", "模拟小票打印机（演示）"),
            Found(Role.CERTIFICATE_PRINTER, "sim://", "模拟A4打印机（演示）"),
        ]
    return Discovery(tuple(found), tuple(problems))


def _serial(base: Path = SERIAL_BY_ID) -> list[Found]:
    """A serial port may hold an ID-card reader or a receipt printer: offered for both."""
    if not base.is_dir():
        return []
    out = []
    for link in sorted(base.iterdir()):
        path = quote(str(link), safe="/:@-_.")
        out.append(Found(Role.READER, f"ga467://{path}?baud=115200", f"串口 {link.name}"))
        out.append(Found(Role.RECEIPT_PRINTER, f"escpos+serial://{path}?baud=9600", link.name))
    return out


def _pcsc() -> list[Found]:
    from smartcard.System import readers

    return [Found(Role.READER, f"pcsc://{r}", f"社保卡读卡器 {r}") for r in readers()]


def _usb_printers(base: Path = USB_DEVICES) -> list[Found]:
    """USB devices with a printer interface (class 07), by vendor:product."""
    out, seen = [], set()
    for interface in sorted(base.glob("*:*")) if base.is_dir() else []:
        if _read(interface / "bInterfaceClass") != USB_PRINTER_CLASS:
            continue
        device = interface.resolve().parent  # an interface's folder is inside its device's
        ids = f"{_read(device / 'idVendor')}:{_read(device / 'idProduct')}"
        if ids in seen or ids == ":":
            continue
        seen.add(ids)
        name = " ".join(filter(None, (_read(device / "manufacturer"), _read(device / "product"))))
        out.append(Found(Role.RECEIPT_PRINTER, f"escpos+usb://{ids}", f"USB 打印机 {name or ids}"))
    return out


def _cups() -> list[Found]:
    import cups

    if not os.environ.get("CUPS_SERVER") and not Path("/run/cups/cups.sock").exists():
        return []  # no local cupsd: asking would wait for a timeout
    queues = cups.Connection().getPrinters()
    return [
        Found(Role.CERTIFICATE_PRINTER, f"cups://{name}", f"CUPS 打印队列 {name}")
        for name in sorted(queues)
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""
