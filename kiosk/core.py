"""The kiosk: the one object screens (and `kiosk soak`) drive.

It owns the catalog, the outbox and the current session; it turns card events into sessions and
sessions into committed transactions. Rules it enforces:
- a card read for an older generation (started before the last session ended) is dropped;
- a card left on the reader never starts the next session: after a session, the card must be
  removed and presented again;
- below the disk's free-space floor no session starts, and the kiosk says why;
- a transaction is committed before the session may say 已受理 (Session.submit).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from devices.base import CardRecord
from kiosk.catalog import Catalog, Item, load_catalog
from kiosk.clock import now_local, today_local
from kiosk.config import Config
from kiosk.hours import HoursError, parse_hours
from kiosk.i18n import N_, Text, Words, words
from kiosk.identity import CardType, IdentityError, ResidentIdentity, identity_from_card
from kiosk.idnumber import check_id_number, normalise
from kiosk.metrics import ERRORS, SESSIONS, TRANSACTIONS
from kiosk.platform import Lookups, PlatformLink, local_lookup
from kiosk.session import Listener, Session, SessionEvent, TimeLimits
from kiosk.transactions import rating_payload, transaction_payload, transaction_personal
from offline_cache.outbox import Outbox, OutboxError, Row
from offline_cache.sync import SyncLimits, SyncState, owner_is_dead

OUTBOX_FILE = "outbox.sqlite3"
EVENTS_FILE = "events.jsonl"  # call-staff and similar events, for staff; no personal data
# Events that are errors, counted for the fleet (kiosk.metrics): what needs a person.
ERROR_EVENTS = frozenset({"print_failed", "reader_down", "audit_failed", "sync_paused"})
TAKE_YOUR_CARD = N_("请取走您的卡片。")
CLEARED = N_("您的信息已从本机清除。")


def record_event(data_dir: Path, kind: str, fields: Mapping[str, Any]) -> None:
    """An event for staff (calls, rejections, sync paused), one JSON line, no personal data.
    Written from the sync thread and from `kiosk queue sync` too: each line is one write of
    the whole record, flushed to disk."""
    if kind in ERROR_EVENTS:
        ERRORS.labels(kind=kind).inc()
    record = {**fields, "at": now_local().isoformat(timespec="seconds"), "kind": kind}
    events = data_dir / EVENTS_FILE
    events.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with events.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())


@dataclass(frozen=True)
class Refusal:
    """Why a card did not start a session, for the screen; `reason` is for logs (no data)."""

    reason: str
    message: str


class Kiosk:
    def __init__(
        self,
        config: Config,
        *,
        catalog: Catalog | None = None,
        outbox: Outbox | None = None,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = today_local,
        now: Callable[[], datetime] = now_local,
        listener: Listener | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog or load_catalog()
        self.outbox = outbox or Outbox(
            config.data_dir / OUTBOX_FILE, min_free_bytes=config.storage.min_free_mb * 2**20
        )
        self.outbox.recover_stale_leases(owner_is_dead)
        # Personal data the platform accepted long enough ago is erased at every start.
        self.outbox.purge(config.storage.retention_days * 86400)
        self.limits = _limits(config)
        self._clock, self._today, self._now = clock, today, now
        self._listener = listener
        self.generation = 1
        self.session: Session | None = None
        # Until the reader reports it empty, a card may lie there from before a restart; it must
        # not start a session.
        self.card_must_be_removed = True
        # The link to the platform (sync worker, lookups), once start_sync() made it. Until the
        # first answer, demo mode assumes its loopback platform is there; a real kiosk assumes
        # nothing and offers only what it can finish offline.
        self.link: PlatformLink | None = None
        self._assume_reachable: bool | None = None
        # Devices that cannot serve now, by what items need ("receipt_printer"), with the
        # reason in words ("打印机缺纸"); kept up to date by whoever watches the devices.
        self.out_of_order: dict[str, str] = {}

    def close(self, sync_timeout_s: float = 15.0) -> None:
        if self.link is not None:
            stopped = self.link.close(sync_timeout_s)
            self.link = None
            if not stopped:
                # The sync thread is still inside a request and still holds the outbox: leave
                # both to the process's exit; its leases are taken back at the next start.
                return
        self.outbox.close()

    # --- the platform ----------------------------------------------------------------------------
    def start_sync(
        self,
        report: Callable[[], Mapping[str, Any]] | None = None,
        limits: SyncLimits | None = None,
    ) -> PlatformLink:
        """Start sending the outbox to the platform on a background thread. Each heartbeat
        carries `report()` and the summary of the last self-test (`kiosk selftest`)."""
        from kiosk.selftest import last_summary

        def reported() -> dict[str, Any]:
            summary = last_summary(self.config.data_dir)
            return {**(report() if report else {}), **({"selftest": summary} if summary else {})}

        if self.link is None:
            self.link = PlatformLink(
                self.config,
                self.outbox,
                today=self._today(),
                on_event=self.record_event,
                report=reported,
                limits=limits,
            )
            self.link.start()
        return self.link

    @property
    def sync_state(self) -> SyncState:
        if self.link is None:
            return SyncState(online=None, queued=self.outbox.status()["queued"])
        return self.link.state

    @property
    def platform_reachable(self) -> bool:
        """Can the platform be used now: it answers, and it has not refused this kiosk."""
        if self._assume_reachable is not None:
            return self._assume_reachable
        state = self.link.state if self.link is not None else None
        if state is not None and state.paused:
            return False
        online = state.online if state is not None else None
        return self.config.demo if online is None else online

    @platform_reachable.setter
    def platform_reachable(self, value: bool | None) -> None:
        """Tests and the console force it; None goes back to what the sync worker knows."""
        self._assume_reachable = value

    def certificates_withheld(self) -> str | None:
        """Why no certificate may be signed now, in words; None when they may. Asked when the
        menu is built and again at the moment of signing: the state can change in between."""
        state = self.link.state if self.link is not None else None
        if state is None:
            return None
        if state.clock_skew:
            return N_("本机时间需要校准，暂停出具证明")
        if state.paused_code == "KIOSK_REVOKED":
            return N_("本机证书已被吊销，暂停出具证明")
        return None

    def lookup(self, id_number: str) -> Lookups:
        """A resident's earlier transactions (the platform when online, else this kiosk's
        queue). It may wait on the network: call it off the UI thread."""
        if self.link is not None:
            return self.link.lookup(id_number)
        return Lookups(local_lookup(self.outbox, id_number), asked_platform=False)

    def call_staff(self, screen: str) -> None:
        """A resident asked for a person: recorded (no personal data) for staff to see."""
        self.record_event("call_staff", {"screen": screen, "generation": self.generation})

    def record_event(self, kind: str, fields: Mapping[str, Any]) -> None:
        record_event(self.config.data_dir, kind, fields)

    # --- what can be offered now -----------------------------------------------------------------
    def today(self) -> date:
        return self._today()

    def menu(self) -> dict[str, list[Item]]:
        """The catalog's items by category, in the order staff set (kiosk.items_order); items
        staff have not placed keep the catalog's order, after those they have."""
        rank = {code: n for n, code in enumerate(self.config.kiosk.items_order)}
        return {
            category: sorted(items, key=lambda item: rank.get(item.code, len(rank)))
            for category, items in self.catalog.by_category().items()
        }

    def staffed_now(self) -> bool:
        """Whether the staffed windows are open now, by kiosk.counter_hours. Empty, or hours
        that cannot be read (kept from before hours governed anything): always."""
        try:
            hours = parse_hours(self.config.kiosk.counter_hours)
        except HoursError:
            return True
        return not hours.spans or hours.open_at(self._now())

    def hours_words(self) -> Words:
        """The opening hours as staff wrote them, and in English where they can be read."""
        text = self.config.kiosk.counter_hours
        try:
            return Words(text, parse_hours(text).in_english())
        except HoursError:
            return Words(text)

    def reconfigure(self, config: Config) -> None:
        """Staff changed settings: what they govern applies from now (the next session's time
        limits, the items offered); a session under way keeps the limits it started with."""
        self.config = config
        self.limits = _limits(config)

    def unavailable(self, item: Item) -> Text | None:
        """Why the kiosk cannot finish an item now, with where to go instead (in Chinese, and
        in any language through `Text.in_language`); None when it can."""
        where = words(item, "where_else")
        if item.code in self.config.kiosk.items_off:
            return Text("暂停办理：工作人员已暂停本事项，请到{where}办理。", where=where)
        broken = [self.out_of_order[need] for need in item.needs if need in self.out_of_order]
        if broken:
            return Text("暂不可用：{reason}，请到{where}办理。", reason=broken[0], where=where)
        missing = [need for need in item.needs if not getattr(self.config.devices, need)]
        if missing:
            return Text("暂不可用：本机没有所需的打印设备，请到{where}办理。", where=where)
        if item.staffed and not self.staffed_now():
            return Text(
                "暂不可用：本事项需要工作人员，人工窗口现在不开放（{hours}），请在开放时间再来。",
                hours=self.hours_words(),
            )
        withheld = self.certificates_withheld() if item.certificate else None
        if withheld:
            return Text("暂不可用：{reason}，请到{where}办理。", reason=withheld, where=where)
        if not item.offline_ok and not self.platform_reachable:
            return Text(
                "暂不可用：网络暂时中断，本事项需要联网办理，请到{where}办理。", where=where
            )
        return None

    # --- cards -------------------------------------------------------------------------------
    def card_read(self, record: CardRecord, generation: int) -> Session | Refusal | None:
        """A reader read a card for `generation`. Returns the new session, a refusal to show,
        or None when the event is stale and must be ignored."""
        if generation != self.generation:
            return None
        if self.session is not None:
            # A session is running: this card changes nothing, but it is on the reader now and
            # must be taken away before it can start the next session.
            self.card_must_be_removed = True
            return None
        if self.card_must_be_removed:
            return Refusal(
                "card left on the reader", N_("请先取走卡片，再重新放置，开始新的业务。")
            )
        try:
            self.outbox.check_room()
        except OutboxError as error:
            return Refusal(str(error), error.resident_message)
        try:
            identity = identity_from_card(record, self._today())
        except IdentityError as error:
            return Refusal(str(error), IdentityError.resident_message)
        self.card_must_be_removed = True
        return self._start_session(identity)

    def identify_manually(self, number: str) -> Session | Refusal:
        """A resident without a card typed their ID number: a session that can only reach the
        items whose `identification` allows it (the catalog refuses the rest)."""
        if self.session is not None:
            return Refusal("a session is running", N_("请先结束当前办理。"))
        if not any("manual" in item.identification for item in self.catalog.items):
            return Refusal("no item allows manual entry", N_("本机所有事项都需要刷卡办理。"))
        try:
            self.outbox.check_room()
        except OutboxError as error:
            return Refusal(str(error), error.resident_message)
        check = check_id_number(number, self._today())
        if not check.valid or check.birth_date is None or check.sex is None:
            return Refusal(
                f"typed number refused: {check.code}", Words(check.reason_zh, check.reason_en)
            )
        identity = ResidentIdentity(
            card_type=CardType.MANUAL,
            id_number=normalise(number),
            name="",
            sex=check.sex,
            birth_date=check.birth_date,
        )
        return self._start_session(identity)

    def _start_session(self, identity: ResidentIdentity) -> Session:
        session = Session(
            self.generation,
            self.catalog,
            self.limits,
            today=self._today,
            clock=self._clock,
            listener=self._on_session_event,
        )
        session.identify(identity)
        self.session = session
        SESSIONS.labels(identified_by=identity.card_type.value).inc()
        return session

    def card_removed(self) -> None:
        """The reader reports no card (removed, or empty at start-up)."""
        self.card_must_be_removed = False

    def _on_session_event(self, event: SessionEvent) -> None:
        # However a session ends (the resident, a timeout, a rating), the next generation starts
        # here, so that late events for it are dropped.
        if (
            event.kind == "ended"
            and self.session is not None
            and event.generation == self.session.generation
        ):
            self.generation += 1
            self.session = None
        if self._listener is not None:
            self._listener(event)

    def end_session(self, reason: str) -> str:
        """End (and wipe) the current session; returns what the closing screen says."""
        if self.session is not None:
            self.session.end(reason)
        return self.closing_message()

    def closing_message(self) -> str:
        if self.card_must_be_removed:
            return Text("{cleared}{take}", cleared=CLEARED, take=TAKE_YOUR_CARD)
        return CLEARED

    # --- committing ----------------------------------------------------------------------------
    def commit_transaction(self, session: Session) -> str:
        """Session.submit's commit: durable in the outbox when this returns the number."""

        def commit(key: str) -> str:
            payload = transaction_payload(
                session, kiosk_id=self.config.kiosk.id, demo=self.config.demo
            )
            row = self.outbox.enqueue_transaction(
                key,
                payload,
                kiosk_id=self.config.kiosk.id,
                day=self._today().strftime("%Y%m%d"),
                personal=transaction_personal(session),
            )
            return row.number

        number = session.submit(commit)
        TRANSACTIONS.inc()
        if self.link is not None:
            self.link.notify()
        return number

    def commit_rating(
        self, session: Session, level: int, contact_consent: bool | None = None
    ) -> Row:
        rows: list[Row] = []

        def commit(key: str) -> Row:
            # Called by Session.rate once it checked its state and the level.
            assert session.transaction_key is not None
            assert session.number is not None
            payload = rating_payload(
                session.transaction_key, session.number, level, contact_consent
            )
            rows.append(self.outbox.enqueue_rating(key, session.transaction_key, payload))
            return rows[-1]

        session.rate(level, commit)
        if self.link is not None:
            self.link.notify()
        return rows[0]


def _limits(config: Config) -> TimeLimits:
    return TimeLimits(
        float(config.session.step_timeout_s),
        float(config.session.warning_s),
        config.session.time_multiplier,
    )
