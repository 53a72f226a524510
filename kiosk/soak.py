"""`kiosk soak`: burn-in. Synthetic residents go through the core, one after another, with the
configured reader, into the outbox; a seeded share of them rate the service. Nothing waits for
the platform.

Each session's card is presented and removed on a simulated reader by the soak itself; with a
real reader a person must present cards. The moment a commit returns, the soak prints
`done NUMBER` (flushed): a session that said done is in the outbox, whatever happens next.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TextIO

from devices.base import CardReader
from devices.registry import open_reader
from devices.simulators.reader import SimReader
from kiosk.catalog import Field
from kiosk.clock import today_local
from kiosk.config import Config
from kiosk.core import Kiosk
from kiosk.session import RATING_LEVELS, Session
from kiosk.transactions import POOR_LEVELS
from offline_cache.sync import SyncLimits

RATED_SHARE = 0.6
CARD_TIMEOUT_S = 30.0


@dataclass
class SoakSummary:
    sessions: int = 0
    transactions: int = 0
    ratings: int = 0
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # reason (no personal data): count
    items: dict[str, int] = field(default_factory=dict)
    first_number: str = ""
    last_number: str = ""
    elapsed_s: float = 0.0
    outbox: dict[str, Any] = field(default_factory=dict)


def synthetic_value(f: Field, rng: random.Random, today: date) -> Any:
    """A valid answer a resident could give to one field."""
    if f.type == "choice":
        return rng.choice(f.choices).value
    if f.type == "number":
        return rng.randint(f.min, f.max)
    if f.type == "date":
        return (today + timedelta(days=rng.randint(f.min_days, f.max_days))).isoformat()
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def run_soak(
    config: Config,
    sessions: int,
    seed: int,
    out: TextIO,
    today: Callable[[], date] = today_local,
    *,
    sync: bool = False,
) -> SoakSummary:
    """With `sync`, the sync worker sends in the background meanwhile, as in a running kiosk;
    the soak still never waits for it, and stops it at the end."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible burn-in, not a secret
    summary = SoakSummary()
    started = time.monotonic()
    kiosk = Kiosk(config, today=today)
    if sync:
        # Send as soon as there is something: a burn-in exercises sync while sessions run.
        kiosk.start_sync(limits=SyncLimits(max_wait_s=0.0))
    try:
        reader = open_reader(config.devices.readers[0])
    except BaseException:
        kiosk.close()
        raise
    try:
        _wait_until_empty(kiosk, reader, out)
        for _ in range(sessions):
            _one_session(kiosk, reader, rng=rng, today=today(), summary=summary, out=out)
    finally:
        reader.close()
        summary.outbox = kiosk.outbox.status()
        kiosk.close()
    summary.elapsed_s = round(time.monotonic() - started, 3)
    return summary


def _wait_until_empty(kiosk: Kiosk, reader: CardReader, out: TextIO) -> None:
    """A card counts as removed only when the reader says so (a simulated card is taken away)."""
    if isinstance(reader, SimReader):
        reader.remove()
    elif reader.card_present():
        print("please take the card off the reader", file=out, flush=True)
        deadline = time.monotonic() + CARD_TIMEOUT_S
        while reader.card_present():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the card stayed on the reader for {CARD_TIMEOUT_S:g} s")
            time.sleep(0.2)
    kiosk.card_removed()


def _refuse(reason: str, summary: SoakSummary, out: TextIO) -> None:
    print(f"refused {reason}", file=out, flush=True)
    summary.refused += 1
    summary.refusals[reason] = summary.refusals.get(reason, 0) + 1


def _one_session(
    kiosk: Kiosk,
    reader: CardReader,
    *,
    rng: random.Random,
    today: date,
    summary: SoakSummary,
    out: TextIO,
) -> None:
    summary.sessions += 1
    if isinstance(reader, SimReader):
        reader.present()
    record = reader.read_card(CARD_TIMEOUT_S)
    if record is None:
        _refuse(f"no card within {CARD_TIMEOUT_S:g} s", summary, out)
        return
    session = kiosk.card_read(record, kiosk.generation)
    if not isinstance(session, Session):  # a refusal (say, the disk is full) or a stale read
        _refuse(session.reason if session is not None else "stale card read", summary, out)
        _wait_until_empty(kiosk, reader, out)
        return
    session.start_choosing()
    offered = [
        i for i in kiosk.catalog.items if not kiosk.unavailable(i) and not session.available(i.code)
    ]
    if not offered:
        kiosk.end_session("nothing to offer")
        _refuse("nothing this kiosk can offer this resident now", summary, out)
        _wait_until_empty(kiosk, reader, out)
        return
    item = rng.choice(offered)
    session.choose(item.code)
    for f in item.fields:
        if f.required or rng.random() < 0.5:
            session.set_value(f.name, synthetic_value(f, rng, today))
    problems = session.review()
    if problems:
        raise AssertionError(f"soak filled {item.code} wrongly: {sorted(problems)}")
    number = kiosk.commit_transaction(session)
    print(f"done {number}", file=out, flush=True)
    summary.transactions += 1
    summary.items[item.code] = summary.items.get(item.code, 0) + 1
    summary.first_number = summary.first_number or number
    summary.last_number = number
    if rng.random() < RATED_SHARE:
        session.start_rating()
        level = rng.choice(list(RATING_LEVELS))
        consent = rng.choice((True, False)) if level in POOR_LEVELS else None
        kiosk.commit_rating(session, level, consent)
        print(f"rated {number}", file=out, flush=True)
        summary.ratings += 1
    else:
        kiosk.end_session("finished")
    _wait_until_empty(kiosk, reader, out)
