"""Device URLs: every scheme of the design parses for its role, and mistakes say what is wrong."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from devices.base import Role
from devices.errors import DeviceUnavailable, DeviceUrlError
from devices.registry import open_device, open_printer, open_reader, parse_device_url
from devices.simulators.printer import SimPrinter
from devices.simulators.reader import SimReader

R, RP, CP = Role.READER, Role.RECEIPT_PRINTER, Role.CERTIFICATE_PRINTER


@pytest.mark.parametrize(
    ("url", "role", "scheme", "target", "params"),
    [
        ("sim://", R, "sim", "resident", {}),
        ("sim://elderly?delay_ms=800", R, "sim", "elderly", {"delay_ms": "800"}),
        ("sim://", RP, "sim", "ok", {}),
        ("sim://paper-out", CP, "sim", "paper-out", {}),
        ("pcsc://", R, "pcsc", "", {}),
        ("pcsc://ACS%20ACR39U", R, "pcsc", "ACS ACR39U", {}),
        ("ga467:///dev/ttyUSB0?baud=115200", R, "ga467", "/dev/ttyUSB0", {"baud": "115200"}),
        (
            "ga467:///dev/serial/by-id/usb-FTDI_FT232R-if00-port0",
            R,
            "ga467",
            "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0",
            {},
        ),
        (
            "escpos+serial:///dev/ttyS0?baud=9600",
            RP,
            "escpos+serial",
            "/dev/ttyS0",
            {"baud": "9600"},
        ),
        ("escpos+tcp://192.0.2.10:9100", RP, "escpos+tcp", "192.0.2.10:9100", {}),
        ("escpos+tcp://printer.local", RP, "escpos+tcp", "printer.local:9100", {}),
        ("escpos+tcp://[::1]", RP, "escpos+tcp", "[::1]:9100", {}),
        ("escpos+usb://0416:5011", RP, "escpos+usb", "0416:5011", {}),
        ("ESCPOS+USB://0FE6:811E", RP, "escpos+usb", "0fe6:811e", {}),
        (
            "escpos+file:///var/lib/kiosk/receipt.bin",
            RP,
            "escpos+file",
            "/var/lib/kiosk/receipt.bin",
            {},
        ),
        ("cups://A4", CP, "cups", "A4", {}),
        ("pdf-dir:///var/lib/kiosk/pdf", CP, "pdf-dir", "/var/lib/kiosk/pdf", {}),
    ],
)
def test_design_urls_parse(
    url: str, role: Role, scheme: str, target: str, params: dict[str, str]
) -> None:
    parsed = parse_device_url(url, role)
    assert (parsed.scheme, parsed.target, dict(parsed.params)) == (scheme, target, params)
    assert str(parsed) == url


@pytest.mark.parametrize(
    ("url", "role", "message"),
    [
        ("", R, "is not a device URL"),
        ("/dev/ttyUSB0", R, "is not a device URL; it needs a type such as sim://elderly"),
        ("ga476:///dev/ttyUSB0", R, "unknown device type 'ga476'.*Did you mean ga467://"),
        ("cups://A4", R, r"cups:// is a certificate printer, not a card reader"),
        ("escpos+tcp://h", CP, "escpos\\+tcp:// is a receipt printer, not a certificate printer"),
        ("sim://", R, None),
        ("pcsc://", RP, "pcsc:// is a card reader, not a receipt printer"),
        ("sim://nobody", R, "unknown simulated reader profile 'nobody'"),
        ("sim://elderly", RP, "unknown simulated receipt printer profile 'elderly'"),
        ("ga467://dev/ttyUSB0", R, "needs an absolute path after three slashes"),
        ("ga467:///dev/ttyUSB0?baud=4800", R, "baud='4800': must be one of 9600, 19200"),
        ("ga467:///dev/ttyUSB0?speed=9600", R, "unknown parameter 'speed' \\(known: baud\\)"),
        ("escpos+tcp://host:0", RP, "port '0' must be a number from 1 to 65535"),
        ("escpos+tcp://:9100", RP, "needs a host name or address"),
        ("escpos+usb://416:5011", RP, "vendor:product as four hex digits each"),
        ("cups://my queue", CP, "needs a CUPS queue name"),
        ("pdf-dir://relative/dir", CP, "needs an absolute path"),
        ("sim://elderly?delay_ms=-5", R, "delay_ms='-5': must be one of 0 to 60000"),
        ("sim://elderly#x", R, "must not contain '#'"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, role: Role, message: str | None) -> None:
    if message is None:
        parse_device_url(url, role)
        return
    with pytest.raises(DeviceUrlError, match=message) as raised:
        parse_device_url(url, role)
    assert str(raised.value).startswith(f"device URL {url!r}: ")


def test_sim_urls_open_the_simulators_for_each_role() -> None:
    assert isinstance(open_reader("sim://"), SimReader)
    printer = open_printer("sim://", Role.RECEIPT_PRINTER)
    assert isinstance(printer, SimPrinter)
    assert printer.role is Role.RECEIPT_PRINTER
    assert open_printer("sim://", Role.CERTIFICATE_PRINTER).accepts == "application/pdf"


@pytest.mark.parametrize(
    ("url", "role", "message"),
    [
        ("escpos+usb://0416:5011", RP, r"no USB printer 0416:5011 is connected"),
        ("escpos+tcp://127.0.0.1:9", RP, r"cannot connect to 127\.0\.0\.1:9"),
        ("escpos+serial:///dev/kiosk-no-such-tty", RP, r"cannot open /dev/kiosk-no-such-tty"),
        ("pdf-dir:///kiosk-no-such-folder", CP, r"is not a folder the kiosk may write to"),
    ],
)
def test_a_printer_that_is_not_there_is_unavailable_with_a_clear_message(
    url: str, role: Role, message: str
) -> None:
    with pytest.raises(DeviceUnavailable, match=message):
        open_device(url, role)


@given(st.text(max_size=60), st.sampled_from(list(Role)))
@example("escpos+tcp://[", Role.RECEIPT_PRINTER)
@example("sim://[x", Role.READER)
@example("pcsc://a]b", Role.READER)
@example("ga467:///dev/ttyUSB0?baud=%FF", Role.READER)
@example("ga467:///dev/ttyUSB0?baud=²", Role.READER)
@example("escpos+tcp://host:²", Role.RECEIPT_PRINTER)
def test_any_text_parses_or_raises_a_device_url_error(text: str, role: Role) -> None:
    try:
        parsed = parse_device_url(text, role)
    except DeviceUrlError as error:
        assert str(error).startswith("device URL ")
    else:
        assert parsed.scheme


@given(
    st.sampled_from(["sim", "ga467", "pcsc", "escpos+tcp", "escpos+usb", "cups", "pdf-dir"]),
    st.text(alphabet=st.sampled_from("[]:/?#%@&=.-_ aA0912²\u4e00"), max_size=40),
    st.sampled_from(list(Role)),
)
def test_any_target_after_a_known_scheme_parses_or_raises_a_device_url_error(
    scheme: str, rest: str, role: Role
) -> None:
    with contextlib.suppress(DeviceUrlError):
        parse_device_url(f"{scheme}://{rest}", role)


def test_a_serial_reader_that_is_not_plugged_in_is_unavailable_with_the_path() -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open /dev/ttyNOSUCH0"):
        open_device("ga467:///dev/ttyNOSUCH0?baud=115200", R)
