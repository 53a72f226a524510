"""Card presence across readers, with simulated readers (no window, no threads needed)."""

from __future__ import annotations

from devices.base import CardRecord
from devices.errors import CardDataError
from devices.registry import open_reader
from devices.simulators.reader import SimReader
from kiosk.cardmonitor import CardMonitor


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.generation = 1

    def card(self, record: CardRecord, generation: int) -> None:
        self.events.append(("card", f"{record.fields['name']}@{generation}"))

    def removed(self) -> None:
        self.events.append(("removed", ""))

    def refused(self, message: str) -> None:
        self.events.append(("refused", message))


def empty(url: str) -> SimReader:
    reader = open_reader(url)
    assert isinstance(reader, SimReader)
    reader.remove()
    return reader


def monitor(log: Log, urls: list[str], opener=empty) -> CardMonitor:  # type: ignore[no-untyped-def]
    return CardMonitor(
        urls, lambda: log.generation, log.card, log.removed, log.refused, opener=opener
    )


def test_the_first_look_reports_the_readers_empty_then_a_card_and_its_removal() -> None:
    log = Log()
    m = monitor(log, ["sim://elderly"])
    m.poll()
    assert log.events == [("removed", "")]  # the kiosk learns the reader is empty
    reader = m.watched[0].reader
    assert isinstance(reader, SimReader)
    reader.present()
    m.poll()
    m.poll()  # a card still lying there is reported once
    reader.remove()
    m.poll()
    assert log.events[1:] == [("card", "测试二@1"), ("removed", "")]


def test_with_two_readers_the_first_card_presented_wins() -> None:
    log = Log()
    m = monitor(log, ["sim://elderly", "sim://sscard"])
    m.poll()
    first, second = (w.reader for w in m.watched)
    assert isinstance(first, SimReader)
    assert isinstance(second, SimReader)
    second.present()
    m.poll()
    first.present()  # a second card while the first one is in use
    m.poll()
    assert [e for e in log.events if e[0] == "card"] == [("card", "测试八@1")]
    second.remove()
    m.poll()
    m.poll()
    assert [e for e in log.events if e[0] == "card"][-1] == ("card", "测试二@1")


class DamagedFrames(SimReader):
    """A reader whose card answers cannot be decoded (as a GA/T 467 bad checksum would be)."""

    def read_card(self, timeout: float) -> CardRecord | None:
        raise CardDataError("damaged frame")


def test_unreadable_card_data_is_a_refusal_and_the_card_must_be_taken_away() -> None:
    log = Log()

    def opener(url: str) -> SimReader:
        reader = DamagedFrames(url)
        reader.open()
        reader.remove()
        return reader

    m = monitor(log, ["sim://"], opener=opener)
    m.poll()
    reader = m.watched[0].reader
    assert isinstance(reader, SimReader)
    reader.present()
    m.poll()
    m.poll()  # refused once, not again and again while it lies there
    assert log.events == [("removed", ""), ("refused", "卡片无法读取，请重新放置。")]
    reader.remove()
    m.poll()
    assert log.events[-1] == ("removed", "")


def test_a_reader_that_cannot_be_opened_is_retried_and_the_others_keep_working() -> None:
    log = Log()
    attempts: list[str] = []

    def opener(url: str) -> SimReader:
        attempts.append(url)
        if url == "sim://broken":
            return open_reader(url)  # type: ignore[return-value]  # raises DeviceUnavailable
        return empty(url)

    m = monitor(log, ["sim://broken", "sim://elderly"], opener=opener)
    m.poll()
    m.poll()  # within the retry pause: not opened again yet
    assert attempts.count("sim://broken") == 1
    assert m.watched[0].reader is None
    reader = m.watched[1].reader
    assert isinstance(reader, SimReader)
    reader.present()
    m.poll()
    assert log.events[-1] == ("card", "测试二@1")


def test_a_reader_that_goes_away_is_closed_and_opened_again() -> None:
    log = Log()
    m = monitor(log, ["sim://elderly"])
    m.poll()
    reader = m.watched[0].reader
    assert isinstance(reader, SimReader)
    reader.close()  # as if unplugged: its next read raises DeviceUnavailable
    reader.present()
    m.poll()
    assert m.watched[0].reader is None
    m.watched[0].retry_at = 0  # the retry pause has passed
    m.poll()
    assert isinstance(m.watched[0].reader, SimReader)
    assert m.watched[0].reader is not reader
