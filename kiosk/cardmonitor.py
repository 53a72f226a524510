"""Card presence: watches every configured reader on one thread and turns what happens into
events: a card read (with the session generation it was read for), the card taken away, a card
that could not be read. With two readers (an ID-card reader and a PC/SC reader, say) the first
card presented wins; the other reader's card waits until the reader is free again.

Readers that fail (unplugged, pcscd restarting) are closed and opened again in a moment; the
kiosk keeps running. Callbacks run on the monitor's thread: a UI must post them onto its own
thread (screens use the Kivy clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from devices.base import CardReader, CardRecord, Role
from devices.errors import CardDataError, DeviceError
from devices.registry import open_device

POLL_S = 0.3
RETRY_S = 2.0


def _open(url: str) -> CardReader:
    device = open_device(url, Role.READER)
    assert isinstance(device, CardReader)
    return device


@dataclass
class Watched:
    url: str
    reader: CardReader | None = None
    card: bool | None = None  # None: not known yet (the kiosk waits for "empty" at start)
    retry_at: float = 0.0


@dataclass
class CardMonitor:
    urls: Sequence[str]
    generation: Callable[[], int]
    on_card: Callable[[CardRecord, int], None]
    on_removed: Callable[[], None]
    on_refused: Callable[[str], None]
    opener: Callable[[str], CardReader] = _open
    watched: list[Watched] = field(default_factory=list)
    # Held while the readers are looked at: the self-test takes it to use them in between.
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.watched = [Watched(url) for url in self.urls]

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="card-monitor", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def card_present(self) -> bool:
        """Whether a card lies on a reader, as last seen (no device is asked)."""
        return any(w.card for w in self.watched)

    def run(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.poll()
            self._stop.wait(POLL_S)
        for w in self.watched:
            if w.reader is not None:
                w.reader.close()

    def poll(self) -> None:
        """One look at every reader (the thread calls this; tests may call it directly)."""
        for w in self.watched:
            if w.reader is None:
                if time.monotonic() < w.retry_at:
                    continue
                try:
                    w.reader = self.opener(w.url)
                except DeviceError:
                    w.retry_at = time.monotonic() + RETRY_S
                    continue
            self._look(w)

    def _look(self, w: Watched) -> None:
        assert w.reader is not None
        generation = self.generation()
        try:
            present = w.reader.card_present()
            if present and w.card is not True:
                if any(o.card for o in self.watched if o is not w):
                    return  # another reader's card came first: this one waits
                record = w.reader.read_card(timeout=POLL_S)
                if record is not None:
                    w.card = True
                    self.on_card(record, generation)
            elif not present and w.card is not False:
                was_known = w.card is not None
                w.card = False
                if was_known or not any(o.card for o in self.watched if o is not w):
                    self.on_removed()
        except CardDataError as error:
            w.card = True  # a card is there but unreadable: it must be taken away first
            self.on_refused(error.resident_message)
        except DeviceError:
            w.reader.close()
            w.reader = None  # unplugged or pcscd gone: opened again in a moment
            w.card = None
            w.retry_at = time.monotonic() + RETRY_S
