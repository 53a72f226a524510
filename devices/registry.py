"""Devices chosen by URL, as in pyserial's `serial_for_url`.

    sim://[profile]                       simulated reader or recording printer
    pcsc://[reader-name-substring]        PC/SC reader (social security card)
    ga467:///dev/ttyUSB0?baud=115200      GA/T 467 SAM ID-card reader on a serial line
    escpos+serial:///dev/ttyS0?baud=9600  ESC/POS receipt printer on a serial line
    escpos+tcp://192.0.2.10:9100          ESC/POS printer on the network
    escpos+usb://0416:5011                ESC/POS printer on USB (vendor:product)
    escpos+file:///path/receipt.bin       ESC/POS bytes appended to a file
    cups://QUEUE                          a CUPS queue (certificates, A4)
    pdf-dir:///path                       documents written as PDF files (no printer)

`parse_device_url` checks a URL completely (scheme, role, target, parameters) so that a config
file is rejected at start with the reason, not when a resident first needs the device.
`open_device` imports a driver only when it is opened: start-up pays for no driver it does not use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

from devices.base import CardReader, Device, Printer, Role
from devices.errors import DeviceUnavailable, DeviceUrlError

SERIAL_BAUDS = (9600, 19200, 38400, 57600, 115200)
_PRINTERS = frozenset({Role.RECEIPT_PRINTER, Role.CERTIFICATE_PRINTER})
_ROLE_WORDS = {
    Role.READER: "a card reader",
    Role.RECEIPT_PRINTER: "a receipt printer",
    Role.CERTIFICATE_PRINTER: "a certificate printer",
}


@dataclass(frozen=True)
class DeviceUrl:
    raw: str
    scheme: str
    target: str  # profile, reader name, device path, host:port, vendor:product or queue
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class _Scheme:
    roles: frozenset[Role]
    example: str
    params: Mapping[str, Callable[[str], str]]
    check_target: Callable[[str, str], str]  # (target, example) -> normalised target


def _int_in(name: str, allowed: tuple[int, ...] | range) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not (value.isascii() and value.isdigit()) or int(value) not in allowed:
            shown = (
                ", ".join(map(str, allowed))
                if isinstance(allowed, tuple)
                else f"{allowed.start} to {allowed.stop - 1}"
            )
            raise DeviceUrlError(f"{name}={value!r}: must be one of {shown}")
        return value

    return check


def _any_target(target: str, example: str) -> str:
    return target


def _device_path(target: str, example: str) -> str:
    if not target.startswith("/") or target == "/":
        raise DeviceUrlError(f"needs an absolute path after three slashes, e.g. {example}")
    return target


def _host_port(target: str, example: str) -> str:
    has_port = ":" in target and not (target.startswith("[") and target.endswith("]"))
    host, _, port = target.rpartition(":") if has_port else (target, "", "9100")
    if not host or not re.fullmatch(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]", host):
        raise DeviceUrlError(f"needs a host name or address, e.g. {example}")
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise DeviceUrlError(f"port {port!r} must be a number from 1 to 65535")
    return f"{host}:{port}"


def _usb_ids(target: str, example: str) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", target):
        raise DeviceUrlError(f"needs vendor:product as four hex digits each, e.g. {example}")
    return target.lower()


def _queue(target: str, example: str) -> str:
    # CUPS queue names: printable characters except space, tab, slash, backslash, quotes and #.
    if not target or not re.fullmatch(r"[^\s/\\'\"#]{1,127}", target):
        raise DeviceUrlError(f"needs a CUPS queue name (no spaces, '/' or '#'), e.g. {example}")
    return target


def _sim_profile(target: str, example: str) -> str:
    return target  # checked against the role in parse_device_url, which knows the role


SCHEMES: Mapping[str, _Scheme] = MappingProxyType(
    {
        "sim": _Scheme(
            frozenset(Role),
            "sim://elderly",
            {"delay_ms": _int_in("delay_ms", range(60001))},
            _sim_profile,
        ),
        "pcsc": _Scheme(frozenset({Role.READER}), "pcsc://ACS", {}, _any_target),
        "ga467": _Scheme(
            frozenset({Role.READER}),
            "ga467:///dev/ttyUSB0?baud=115200",
            {"baud": _int_in("baud", SERIAL_BAUDS)},
            _device_path,
        ),
        "escpos+serial": _Scheme(
            frozenset({Role.RECEIPT_PRINTER}),
            "escpos+serial:///dev/ttyS0?baud=9600",
            {"baud": _int_in("baud", SERIAL_BAUDS)},
            _device_path,
        ),
        "escpos+tcp": _Scheme(
            frozenset({Role.RECEIPT_PRINTER}),
            "escpos+tcp://192.0.2.10:9100",
            {},
            _host_port,
        ),
        "escpos+usb": _Scheme(
            frozenset({Role.RECEIPT_PRINTER}),
            "escpos+usb://0416:5011",
            {},
            _usb_ids,
        ),
        "escpos+file": _Scheme(
            frozenset({Role.RECEIPT_PRINTER}),
            "escpos+file:///var/lib/kiosk/receipt.bin",
            {},
            _device_path,
        ),
        "cups": _Scheme(
            frozenset({Role.CERTIFICATE_PRINTER}),
            "cups://A4",
            {"settle_ms": _int_in("settle_ms", range(30001))},
            _queue,
        ),
        "pdf-dir": _Scheme(
            frozenset({Role.CERTIFICATE_PRINTER}),
            "pdf-dir:///var/lib/kiosk/pdf",
            {},
            _device_path,
        ),
    }
)


def parse_device_url(text: str, role: Role) -> DeviceUrl:
    """Check a device URL for a role; DeviceUrlError says what is wrong and shows an example."""
    try:
        return _parse(text.strip(), role)
    except DeviceUrlError as error:
        raise DeviceUrlError(f"device URL {text.strip()!r}: {error}") from None


def _parse(text: str, role: Role) -> DeviceUrl:
    if "://" not in text:
        raise DeviceUrlError(
            f"is not a device URL; it needs a type such as "
            f"{SCHEMES['sim'].example} or {SCHEMES['ga467'].example}"
        )
    scheme_text, _, _ = text.partition("://")
    scheme = SCHEMES.get(scheme_text.lower())
    if scheme is None:
        close = difflib.get_close_matches(scheme_text.lower(), SCHEMES, n=1)
        hint = f" Did you mean {close[0]}://?" if close else ""
        raise DeviceUrlError(
            f"unknown device type {scheme_text!r} (known: {', '.join(SCHEMES)}).{hint}"
        )
    if role not in scheme.roles:
        raise DeviceUrlError(
            f"{scheme_text}:// is {_describe_roles(scheme.roles)}, not {_ROLE_WORDS[role]}"
        )
    try:
        parts = urlsplit(text)
    except ValueError as error:  # e.g. an unbalanced "[" reads as a broken IPv6 address
        raise DeviceUrlError(f"is not a well-formed URL ({error})") from None
    if parts.fragment:
        raise DeviceUrlError("must not contain '#'")
    target = unquote(parts.netloc or parts.path)
    if parts.netloc and parts.path not in ("", "/"):
        target = unquote(parts.netloc + parts.path)
    target = scheme.check_target(target, scheme.example)
    params: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        check = scheme.params.get(name)
        if check is None:
            known = ", ".join(scheme.params) or "none"
            raise DeviceUrlError(f"unknown parameter {name!r} (known: {known})")
        params[name] = check(value)
    if scheme_text.lower() == "sim":
        target = _check_sim_profile(target or "", role)
    return DeviceUrl(text, scheme_text.lower(), target, MappingProxyType(params))


def _describe_roles(roles: frozenset[Role]) -> str:
    if roles == _PRINTERS:
        return "a printer"
    return " or ".join(_ROLE_WORDS[r] for r in Role if r in roles)


def _check_sim_profile(profile: str, role: Role) -> str:
    if role is Role.READER:
        from devices.simulators.reader import PROFILES as READER_PROFILES

        profiles: tuple[str, ...] = READER_PROFILES
        default = "resident"
    else:
        from devices.simulators.printer import PROFILES as PRINTER_PROFILES

        profiles = PRINTER_PROFILES
        default = "ok"
    if not profile:
        return default
    if profile not in profiles:
        raise DeviceUrlError(
            f"unknown simulated {role.value.replace('_', ' ')} profile "
            f"{profile!r} (known: {', '.join(profiles)})"
        )
    return profile


def open_device(text: str, role: Role) -> Device:
    """Parse, build and open the device a URL names."""
    url = parse_device_url(text, role)
    device = _build(url, role)
    device.open()
    return device


def open_reader(text: str) -> CardReader:
    device = open_device(text, Role.READER)
    assert isinstance(device, CardReader)
    return device


def open_printer(text: str, role: Role) -> Printer:
    device = open_device(text, role)
    assert isinstance(device, Printer)
    return device


def _build(url: DeviceUrl, role: Role) -> Device:
    if url.scheme == "sim":
        if role is Role.READER:
            from devices.simulators.reader import SimReader

            return SimReader(url.raw, url.target, int(url.params.get("delay_ms", "0")))
        from devices.simulators.printer import SimPrinter

        return SimPrinter(url.raw, role, url.target)
    if url.scheme == "pcsc":
        from devices.pcsc.reader import PcscReader

        return PcscReader(url.raw, url.target)
    if url.scheme == "ga467":
        from devices.ga467.reader import GA467Reader

        return GA467Reader(url.raw, url.target, int(url.params.get("baud", "115200")))
    if url.scheme.startswith("escpos+"):
        return _escpos(url)
    if url.scheme == "cups":
        from devices.cups import CupsPrinter

        settle = int(url.params.get("settle_ms", "3000")) / 1000
        return CupsPrinter(url.raw, url.target, settle_s=settle)
    if url.scheme == "pdf-dir":
        from devices.pdfdir import PdfDirPrinter

        return PdfDirPrinter(url.raw, url.target)
    raise DeviceUnavailable(f"{url.raw}: no driver for {url.scheme}://")


def _escpos(url: DeviceUrl) -> Device:
    from devices.escpos import transport
    from devices.escpos.printer import EscposPrinter

    target = url.target
    if url.scheme == "escpos+serial":
        baud = int(url.params.get("baud", "9600"))
        return EscposPrinter(url.raw, lambda: transport.SerialTransport(target, baud))
    if url.scheme == "escpos+tcp":
        host, _, port = target.rpartition(":")
        return EscposPrinter(url.raw, lambda: transport.TcpTransport(host, int(port)))
    if url.scheme == "escpos+usb":
        vendor, product = target.split(":")
        return EscposPrinter(
            url.raw, lambda: transport.FdTransport(transport.usb_printer_path(vendor, product))
        )
    return EscposPrinter(url.raw, lambda: transport.FileTransport(target))
