"""`sim://[profile]`: a card reader with synthetic residents on its cards.

Profiles: one of the people in `people.PEOPLE` (resident, elderly, rare, expired, hmt, foreign,
foreign2017, sscard; `sim://` alone is `resident`), `everyone` (each new card is the next
person), `empty` (no card ever comes), `garbled` (a card whose number fails its check) and
`broken` (the reader does not answer). `?delay_ms=N` makes a read take as long as a real one.

A card is on the reader from `open()` (except with `empty`); tests move it with `present()`
and `remove()`. The simulator records what it was asked in `log`.
"""

from __future__ import annotations

import threading
import time
from itertools import cycle

from devices.base import CardReader, CardRecord, DeviceState, HealthLevel, HealthResult, Outcome
from devices.errors import DeviceUnavailable
from devices.simulators.people import GARBLED, PEOPLE, SyntheticCard

PROFILES = (*PEOPLE, "everyone", "empty", "garbled", "broken")


class SimReader(CardReader):
    def __init__(self, url: str, profile: str = "resident", delay_ms: int = 0) -> None:
        super().__init__(url)
        if profile not in PROFILES:
            raise ValueError(f"unknown simulated reader profile {profile!r}")
        self.profile = profile
        self.delay_s = delay_ms / 1000
        self.log: list[str] = []
        self._people = cycle(PEOPLE.values())
        self._card: SyntheticCard | None = None
        self._arrived = threading.Event()

    # --- test controls -------------------------------------------------------------------
    def present(self, key: str | None = None) -> None:
        """Put a card on the reader: the named person, or the profile's next one."""
        self._card = PEOPLE[key] if key else self._next_card()
        self._arrived.set()
        self._emit("card_inserted", {"card": self._card.kind})

    def remove(self) -> None:
        self._card = None
        self._arrived.clear()
        self._emit("card_removed")

    def _next_card(self) -> SyntheticCard:
        if self.profile == "everyone":
            return next(self._people)
        if self.profile == "garbled":
            return GARBLED
        return PEOPLE[self.profile if self.profile in PEOPLE else "resident"]

    # --- the reader interface --------------------------------------------------------------
    def open(self) -> None:
        self.log.append("open")
        if self.profile == "broken":
            self._set_state(DeviceState.OFFLINE, "reader does not answer")
            raise DeviceUnavailable(f"{self.url}: the simulated reader does not answer")
        super().open()
        if self.profile != "empty":
            self.present()

    def close(self) -> None:
        self.log.append("close")
        super().close()

    def card_present(self) -> bool:
        self.log.append("card_present")
        return self._card is not None

    def read_card(self, timeout: float) -> CardRecord | None:
        self.log.append("read_card")
        if self.state in (DeviceState.CLOSED, DeviceState.OFFLINE):
            raise DeviceUnavailable(f"{self.url}: reader is {self.state.value}")
        if not self._arrived.wait(timeout):
            return None
        card = self._card
        if card is None:  # removed while we waited
            return None
        self._set_state(DeviceState.BUSY)
        try:
            time.sleep(self.delay_s)
        finally:
            self._set_state(DeviceState.IDLE)
        return CardRecord(card.kind, card.type_flag, dict(card.fields), self.url)

    def check_health(self, level: HealthLevel) -> HealthResult:
        self.log.append(f"check_health:{level.value}")
        if self.state in (DeviceState.CLOSED, DeviceState.OFFLINE):
            return HealthResult(
                self.url, level, Outcome.FAILED, f"simulated reader is {self.state.value}"
            )
        if level is HealthLevel.INTERNAL:
            return HealthResult(
                self.url,
                level,
                Outcome.PASSED,
                "simulated reader answers",
                data={"profile": self.profile},
            )
        if level is HealthLevel.EXTERNAL:
            if self._card is None:
                return HealthResult(self.url, level, Outcome.NOT_RUN, "no test card on the reader")
            return HealthResult(
                self.url,
                level,
                Outcome.PASSED,
                "read the card on the reader",
                data={"card": self._card.kind},
            )
        return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to present a card")
