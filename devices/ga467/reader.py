"""`ga467:///dev/ttyUSB0?baud=115200`: a GA/T 467 SAM ID-card reader on a serial line.

A read is find card → select card → read text and photo, about a second on real hardware, with
retries inside the caller's timeout (a card being laid down often fails its first select).
The photo block is read off the wire and dropped: it is never stored anywhere. Stable names
such as /dev/serial/by-id/... work like /dev/ttyUSB0. When the device node goes away (the
reader was unplugged) the port is closed; the next call opens it again.
"""

from __future__ import annotations

import termios
import time
from typing import Any

from devices.base import CardReader, CardRecord, DeviceState, HealthLevel, HealthResult, Outcome
from devices.errors import CardDataError, DeviceUnavailable
from devices.ga467.protocol import (
    FIND_CARD,
    READ_TEXT_PHOTO,
    SAM_ID,
    SAM_STATUS,
    SELECT_CARD,
    SW3_FOUND,
    SW3_OK,
    Decoder,
    FrameError,
    Response,
    encode,
    split_read,
)
from devices.ga467.textblock import parse_text

ANSWER_TIMEOUT_S = 1.0  # a full read answer is 1295 bytes: 0.11 s at 115200 baud, 1.4 s at 9600
RETRY_PAUSE_S = 0.1


class NoAnswer(DeviceUnavailable):
    """Nothing (or only part of a frame) came back in time."""


class GA467Reader(CardReader):
    def __init__(self, url: str, path: str, baud: int = 115200) -> None:
        super().__init__(url)
        self.path, self.baud = path, baud
        self._port: Any = None

    # --- the port ------------------------------------------------------------------------------
    def open(self) -> None:
        self._open_port()
        super().open()

    def _open_port(self) -> None:
        import serial

        try:
            self._port = serial.Serial(self.path, self.baud, timeout=0.02, write_timeout=1)
        except (serial.SerialException, OSError) as error:
            self._set_state(DeviceState.OFFLINE, "cannot open the serial port")
            raise DeviceUnavailable(
                f"{self.url}: cannot open {self.path} "
                f"({getattr(error, 'strerror', None) or 'not available'})"
            ) from None

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None
        super().close()

    def _transact(self, command: tuple[int, int], timeout: float = ANSWER_TIMEOUT_S) -> Response:
        import serial

        if self._port is None:
            self._open_port()  # unplugged earlier: try again
            self._set_state(DeviceState.IDLE)
        port = self._port
        decoder = Decoder()
        try:
            port.reset_input_buffer()
            port.write(encode(command))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                chunk = port.read(max(1, port.in_waiting))
                if chunk:
                    frames = decoder.feed(chunk)
                    if frames:
                        return frames[0]
        except FrameError as error:
            raise CardDataError(f"{self.url}: the reader sent a damaged frame ({error})") from None
        except (serial.SerialException, OSError, termios.error):
            # An unplugged USB-serial adapter surfaces as any of these (termios.error is not
            # an OSError): all mean the reader is gone until its node comes back.
            port.close()
            self._port = None
            self._set_state(DeviceState.OFFLINE, "the serial port went away")
            raise DeviceUnavailable(f"{self.url}: the reader is not connected") from None
        raise NoAnswer(f"{self.url}: the reader did not answer within {timeout:g} s")

    # --- the reader interface ------------------------------------------------------------------
    def card_present(self) -> bool:
        return self._transact(FIND_CARD).sw3 == SW3_FOUND

    def read_card(self, timeout: float) -> CardRecord | None:
        deadline = time.monotonic() + timeout
        failure = ""
        while True:
            if self._transact(FIND_CARD).sw3 == SW3_FOUND:
                selected = self._transact(SELECT_CARD)
                if selected.sw3 == SW3_OK:
                    self._set_state(DeviceState.BUSY)
                    try:
                        answer = self._transact(READ_TEXT_PHOTO)
                    except NoAnswer:
                        answer = None  # cut off mid-frame: the card moved; never half a card
                    finally:
                        self._set_state(DeviceState.IDLE)
                    if answer is not None and answer.sw3 == SW3_OK:
                        return self._record(answer.data)
                    failure = answer.words if answer else "the answer was cut off"
                else:
                    failure = selected.words
            if time.monotonic() + RETRY_PAUSE_S >= deadline:
                if failure:
                    raise CardDataError(f"{self.url}: the card could not be read ({failure})")
                return None
            time.sleep(RETRY_PAUSE_S)

    def _record(self, data: bytes) -> CardRecord:
        try:
            blocks = split_read(data)
        except FrameError as error:
            raise CardDataError(f"{self.url}: {error}") from None
        flag, fields = parse_text(blocks.text)
        return CardRecord("id_card", flag, fields, self.url)

    def check_health(self, level: HealthLevel) -> HealthResult:
        try:
            if level is HealthLevel.INTERNAL:
                status = self._transact(SAM_STATUS)
                if status.sw3 != SW3_OK:
                    return HealthResult(
                        self.url, level, Outcome.FAILED, f"SAM status: {status.words}"
                    )
                sam = self._transact(SAM_ID)
                return HealthResult(
                    self.url, level, Outcome.PASSED, "SAM answers", data={"sam_id": sam.data.hex()}
                )
            if level is HealthLevel.EXTERNAL:
                if not self.card_present():
                    return HealthResult(
                        self.url, level, Outcome.NOT_RUN, "no test card on the reader"
                    )
                record = self.read_card(timeout=3)
                return HealthResult(
                    self.url,
                    level,
                    Outcome.PASSED if record else Outcome.FAILED,
                    "read the test card" if record else "the card did not read",
                )
        except (DeviceUnavailable, CardDataError) as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error))
        return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to present a card")
