"""How bytes reach an ESC/POS printer: a serial line, a TCP socket (port 9100), the kernel's USB
printer device, or a file. Transports only move bytes; the printer decides what they mean.

USB: `escpos+usb://VVVV:PPPP` finds the printer among the kernel usblp devices
(/sys/class/usbmisc/lp*) by vendor and product id and opens its /dev/usb/lpN. The kernel driver
already claims every USB printer class device, so this needs no libusb, no detaching of the
kernel driver and no root: only membership of the `lp` group, which the Debian package grants
the kiosk's user. Status answers come back over the same device for printers that are
bidirectional, which receipt printers are.

Errors are DeviceUnavailable (gone, unplugged, refused); the printer closes the transport and
opens a new one at its next use, so a printer that was unplugged and plugged back in works again
without a restart.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from devices.errors import DeviceUnavailable

WRITE_TIMEOUT_S = 10.0  # a long receipt over 9600 baud takes a few seconds


class Transport(Protocol):
    bidirectional: bool  # False: nothing can be read back (a file), so no status

    def write(self, data: bytes) -> None: ...
    def read(self, size: int, timeout: float) -> bytes: ...
    def discard_input(self) -> None: ...
    def close(self) -> None: ...


class SerialTransport:
    bidirectional = True

    def __init__(self, path: str, baud: int) -> None:
        import serial

        self.path = path
        try:
            self._port: Any = serial.Serial(path, baud, timeout=0.05, write_timeout=WRITE_TIMEOUT_S)
        except (serial.SerialException, OSError) as error:
            raise DeviceUnavailable(
                f"cannot open {path} ({getattr(error, 'strerror', None) or 'not available'})"
            ) from None

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)  # bounded by write_timeout
            # Not flush(): tcdrain has no time limit, and a USB serial printer that stalls would
            # hold the caller for ever. Wait for the output queue to empty, up to a deadline.
            deadline = time.monotonic() + WRITE_TIMEOUT_S
            while self._port.out_waiting and time.monotonic() < deadline:
                time.sleep(0.01)
            if self._port.out_waiting:
                raise DeviceUnavailable(f"{self.path}: the printer stopped taking data")
        except (serial.SerialException, OSError) as error:
            raise DeviceUnavailable(f"{self.path}: write failed ({error})") from None

    def read(self, size: int, timeout: float) -> bytes:
        import serial

        got = b""
        deadline = time.monotonic() + timeout
        try:
            while len(got) < size and time.monotonic() < deadline:
                got += self._port.read(size - len(got))
        except (serial.SerialException, OSError) as error:
            raise DeviceUnavailable(f"{self.path}: read failed ({error})") from None
        return got

    def discard_input(self) -> None:
        import serial

        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as error:
            raise DeviceUnavailable(f"{self.path}: {error}") from None

    def close(self) -> None:
        self._port.close()


class TcpTransport:
    bidirectional = True

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.where = f"{host}:{port}"
        try:
            self._sock = socket.create_connection((host.strip("[]"), port), connect_timeout)
        except OSError as error:
            raise DeviceUnavailable(f"cannot connect to {self.where} ({error})") from None
        self._sock.settimeout(WRITE_TIMEOUT_S)

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as error:
            raise DeviceUnavailable(f"{self.where}: send failed ({error})") from None

    def read(self, size: int, timeout: float) -> bytes:
        def chunk(wanted: int) -> bytes:
            data = self._sock.recv(wanted)
            if not data:
                raise DeviceUnavailable(f"{self.where}: the printer closed the connection")
            return data

        try:
            return _read_ready(self._sock, chunk, size, timeout)
        except OSError as error:
            raise DeviceUnavailable(f"{self.where}: receive failed ({error})") from None

    def discard_input(self) -> None:
        while select.select([self._sock], [], [], 0)[0]:
            try:
                if not self._sock.recv(4096):
                    return
            except OSError:
                return

    def close(self) -> None:
        self._sock.close()


class FdTransport:
    """A character device opened read-write (the kernel's USB printer device)."""

    bidirectional = True

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            # Non-blocking: usblp blocks a writer for as long as the printer stalls (no paper),
            # which must cost a bounded wait, not a frozen kiosk.
            self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as error:
            raise DeviceUnavailable(f"cannot open {path} ({error.strerror})") from None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        try:
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeviceUnavailable(f"{self.path}: the printer stopped taking data")
                if not select.select([], [self._fd], [], left)[1]:
                    continue
                try:
                    view = view[os.write(self._fd, view) :]
                except BlockingIOError:
                    continue
        except OSError as error:
            raise DeviceUnavailable(f"{self.path}: write failed ({error.strerror})") from None

    def read(self, size: int, timeout: float) -> bytes:
        def chunk(wanted: int) -> bytes:
            data = os.read(self._fd, wanted)
            if not data:
                time.sleep(0.02)  # usblp reads 0 bytes when the printer has nothing yet
            return data

        try:
            return _read_ready(self._fd, chunk, size, timeout)
        except BlockingIOError:
            return b""
        except OSError as error:
            raise DeviceUnavailable(f"{self.path}: read failed ({error.strerror})") from None

    def discard_input(self) -> None:
        try:
            while select.select([self._fd], [], [], 0)[0] and os.read(self._fd, 4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        os.close(self._fd)


def _read_ready(source: Any, chunk: Callable[[int], bytes], size: int, timeout: float) -> bytes:
    """Up to `size` bytes from a select()-able source, read as they come, until `timeout`."""
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([source], [], [], left)[0]:
            break
        got += chunk(size - len(got))
    return got


def usb_printer_path(vendor: str, product: str, sysfs: Path = Path("/sys/class/usbmisc")) -> str:
    """The /dev/usb/lpN of the USB printer with these ids (four hex digits each)."""
    for entry in sorted(sysfs.glob("lp*")):
        device = (entry / "device").resolve().parent  # the interface's parent: the USB device
        try:
            ids = (
                (device / "idVendor").read_text().strip(),
                (device / "idProduct").read_text().strip(),
            )
        except OSError:
            continue
        if ids == (vendor.lower(), product.lower()):
            return f"/dev/usb/{entry.name}"
    raise DeviceUnavailable(
        f"no USB printer {vendor}:{product} is connected (or the usblp driver is not loaded)"
    )


class FileTransport:
    """Bytes appended to a file: for tests and for printers fed by another program. It cannot
    answer status queries, so it never claims more than that the bytes were written."""

    bidirectional = False

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._file = open(path, "ab")  # noqa: SIM115 - kept open for the printer's life
        except OSError as error:
            raise DeviceUnavailable(f"cannot open {path} ({error.strerror})") from None

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise DeviceUnavailable(f"{self.path}: write failed ({error.strerror})") from None

    def read(self, size: int, timeout: float) -> bytes:
        return b""

    def discard_input(self) -> None:
        pass

    def close(self) -> None:
        self._file.close()
