"""What is plugged in, as device URLs a technician can pick instead of typing them: serial ports
by their stable /dev/serial/by-id names, PC/SC readers, USB printers by vendor:product, and CUPS
queues. Each finder looks only; nothing is opened, so a device the kiosk holds is not disturbed.
A finder that cannot look (no pcscd, no cupsd) finds nothing and says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devices.base import Role

SERIAL_BY_ID = Path("/dev/serial/by-id")
USB_DEVICES = Path("/sys/bus/usb/devices")
USB_PRINTER_CLASS = "07"


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


def discover(*, demo: bool = False) -> Discovery:
    found: list[Found] = []
    problems: list[str] = []
    finders: dict[str, Callable[[], list[Found]]] = {
        "serial": _serial,
        "pcsc": _pcsc,
        "usb": _usb_printers,
        "cups": _cups,
    }
    for name, finder in finders.items():
        try:
            found += finder()
        except Exception as error:  # noqa: BLE001 - a finder that cannot look finds nothing
            problems.append(f"{name}: {error}")
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
