"""`pcsc://[name]`: PC/SC readers through pcscd (pyscard), for social security cards.

Every reader whose name contains [name] (all readers when empty) is watched; with two, the
first card presented wins. pyscard opens a new PC/SC context for each listing, so when pcscd
restarts the reader is unavailable for a moment and then simply answers again.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from devices.base import CardReader, CardRecord, DeviceState, HealthLevel, HealthResult, Outcome
from devices.errors import CardDataError, DeviceUnavailable
from devices.pcsc.sscard import read_card

POLL_S = 0.1


class PcscReader(CardReader):
    def __init__(self, url: str, name: str = "") -> None:
        super().__init__(url)
        self.name = name

    def _readers(self) -> list[Any]:
        from smartcard.Exceptions import SmartcardException
        from smartcard.pcsc.PCSCExceptions import BaseSCardException
        from smartcard.System import readers

        try:
            found = [r for r in readers() if self.name in str(r)]
        except (SmartcardException, BaseSCardException, OSError):
            self._set_state(DeviceState.OFFLINE, "pcscd does not answer")
            raise DeviceUnavailable(
                f"{self.url}: the PC/SC service (pcscd) does not answer"
            ) from None
        if not found:
            self._set_state(DeviceState.OFFLINE, "no matching reader")
            raise DeviceUnavailable(f"{self.url}: no PC/SC reader matches {self.name!r}")
        if self.state is DeviceState.OFFLINE:
            self._set_state(DeviceState.IDLE)
        return found

    def open(self) -> None:
        self._readers()
        super().open()

    def _connect(self) -> Any:
        """A connection to the first reader holding a card, or None."""
        from smartcard.Exceptions import SmartcardException

        for reader in self._readers():
            connection = reader.createConnection()
            try:
                connection.connect()
            except SmartcardException:
                continue
            return connection
        return None

    def card_present(self) -> bool:
        connection = self._connect()
        if connection is None:
            return False
        connection.disconnect()
        return True

    def read_card(self, timeout: float) -> CardRecord | None:
        from smartcard.Exceptions import SmartcardException

        deadline = time.monotonic() + timeout
        while True:
            connection = self._connect()
            if connection is not None:
                self._set_state(DeviceState.BUSY)
                try:
                    fields = read_card(connection.transmit)
                except SmartcardException:
                    # Pulled mid-read: nothing half-read is returned; try again while time lasts.
                    fields = None
                finally:
                    self._set_state(DeviceState.IDLE)
                    with contextlib.suppress(SmartcardException):
                        connection.disconnect()
                if fields is not None:
                    return CardRecord("social_security", "", fields, self.url)
            if time.monotonic() + POLL_S >= deadline:
                return None
            time.sleep(POLL_S)

    def check_health(self, level: HealthLevel) -> HealthResult:
        try:
            names = [str(r) for r in self._readers()]
            if level is HealthLevel.INTERNAL:
                return HealthResult(
                    self.url,
                    level,
                    Outcome.PASSED,
                    "PC/SC reader present",
                    data={"readers": ", ".join(names)},
                )
            if level is HealthLevel.EXTERNAL:
                connection = self._connect()
                if connection is None:
                    return HealthResult(
                        self.url, level, Outcome.NOT_RUN, "no test card on the reader"
                    )
                atr = bytes(connection.getATR()).hex()
                connection.disconnect()
                return HealthResult(
                    self.url, level, Outcome.PASSED, "card answers", data={"atr": atr}
                )
        except (DeviceUnavailable, CardDataError) as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error))
        return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to present a card")
