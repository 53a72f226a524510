"""One resident's session, from card to wipe, as an explicit state machine.

    idle → identified → choosing ⇄ filling ⇄ confirming → submitting → done → rating → wiped
                                                              ↓ (commit failed: back to confirming)
    any state → wiped (the resident leaves, cancels, or does not answer the warning)

Time: each state has a limit (data: `LIMITS`, lengthened by the staff multiplier, up to ten-fold)
on a monotonic clock, counted only while the session waits for the resident: `paused()` stops it
while a device works or the platform is asked. When a limit runs out the session does not end:
it warns ("您还在吗？") and gives at least 20 s to answer 我还在; only then does it end. So a
warning precedes every timeout.

The idempotency key of the transaction (UUIDv7) is made when the confirm screen opens, so that
a double tap, or a retry after a failed commit, can never make two. The session reaches `done`
only after the commit returned. Ending the session wipes the identity and every value the
resident entered; what remains (state, reason, number) is not personal.

Every session has a generation number; events for an older generation are dropped by the kiosk
(kiosk.core), so a card read or platform answer that arrives late cannot reach a new resident.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Final

import uuid6

from kiosk.catalog import Catalog, Item
from kiosk.i18n import N_, Joined, Text
from kiosk.identity import ResidentIdentity

MIN_WARNING_S: Final = 20.0  # WCAG 2.2.1: at least 20 s to answer with one simple action
MAX_MULTIPLIER: Final = 10.0


class State(Enum):
    IDLE = "idle"
    IDENTIFIED = "identified"
    CHOOSING = "choosing"
    FILLING = "filling"
    CONFIRMING = "confirming"
    SUBMITTING = "submitting"
    DONE = "done"
    RATING = "rating"
    WIPED = "wiped"


TRANSITIONS: Final[Mapping[State, frozenset[State]]] = {
    State.IDLE: frozenset({State.IDENTIFIED, State.WIPED}),
    State.IDENTIFIED: frozenset({State.CHOOSING, State.WIPED}),
    State.CHOOSING: frozenset({State.FILLING, State.WIPED}),
    State.FILLING: frozenset({State.CHOOSING, State.CONFIRMING, State.WIPED}),
    State.CONFIRMING: frozenset({State.FILLING, State.SUBMITTING, State.WIPED}),
    State.SUBMITTING: frozenset({State.DONE, State.CONFIRMING}),
    State.DONE: frozenset({State.RATING, State.WIPED}),
    State.RATING: frozenset({State.DONE, State.WIPED}),
    State.WIPED: frozenset(),
}

# Seconds a state waits for the resident before warning; None: no limit. STEP is replaced by
# the configured session.step_timeout_s. Everything is multiplied by the staff multiplier.
STEP: Final = -1.0
LIMITS: Final[Mapping[State, float | None]] = {
    State.IDLE: None,
    State.IDENTIFIED: STEP,
    State.CHOOSING: STEP,
    State.FILLING: STEP,
    State.CONFIRMING: STEP,
    State.SUBMITTING: None,  # the kiosk is working, not the resident
    State.DONE: 60.0,  # time to read the result and take the paper
    State.RATING: 60.0,
    State.WIPED: None,
}
RATING_LEVELS: Final = {
    5: N_("非常满意"),
    4: N_("满意"),
    3: N_("基本满意"),
    2: N_("不满意"),
    1: N_("非常不满意"),
}


class SessionError(Exception):
    """An action the session cannot take now; `resident_message` says why in plain words."""

    def __init__(self, message: str, resident_message: str = N_("请按屏幕提示操作。")) -> None:
        super().__init__(message)
        self.resident_message = resident_message


@dataclass(frozen=True)
class TimeLimits:
    step_s: float = 120.0
    warning_s: float = 30.0
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if self.warning_s < MIN_WARNING_S:
            raise ValueError(f"the warning must give at least {MIN_WARNING_S:g} s")
        if not 1.0 <= self.multiplier <= MAX_MULTIPLIER:
            raise ValueError(f"the multiplier must be from 1 to {MAX_MULTIPLIER:g}")

    def limit(self, state: State) -> float | None:
        base = LIMITS[state]
        if base is None:
            return None
        return (self.step_s if base == STEP else base) * self.multiplier

    @property
    def warning(self) -> float:
        return self.warning_s * self.multiplier


@dataclass(frozen=True)
class SessionEvent:
    generation: int
    kind: str  # state, warning, warning_cleared, timeout, ended
    state: State
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[SessionEvent], None]


class Session:
    def __init__(
        self,
        generation: int,
        catalog: Catalog,
        limits: TimeLimits,
        *,
        today: Callable[[], date],
        clock: Callable[[], float] = time.monotonic,
        listener: Listener | None = None,
    ) -> None:
        self.generation = generation
        self.catalog = catalog
        self.limits = limits
        self._today = today
        self._clock = clock
        self._listener = listener
        self.state = State.IDLE
        self.end_reason = ""
        self._identity: ResidentIdentity | None = None
        self.item: Item | None = None
        self.values: dict[str, Any] = {}
        self.transaction_key: str | None = None
        self.number: str | None = None
        self.rated = False
        self._deadline: float | None = None
        self._warning_until: float | None = None
        self._paused = 0
        self._paused_at = 0.0

    # --- reading -----------------------------------------------------------------------------
    @property
    def identity(self) -> ResidentIdentity:
        if self._identity is None:
            raise SessionError("no resident in this session")
        return self._identity

    @property
    def warning(self) -> bool:
        return self._warning_until is not None

    def seconds_left(self) -> float | None:
        """Until the warning (or, during the warning, until the session ends)."""
        end = self._warning_until if self._warning_until is not None else self._deadline
        if end is None:
            return None
        return max(0.0, end - self._now())

    def _now(self) -> float:
        """The session's clock: it stands still while paused."""
        return self._paused_at if self._paused else self._clock()

    # --- moving ------------------------------------------------------------------------------
    def _go(self, state: State, **data: Any) -> None:
        if state not in TRANSITIONS[self.state]:
            raise SessionError(f"cannot go from {self.state.value} to {state.value}")
        self.state = state
        self._warning_until = None
        limit = self.limits.limit(state)
        self._deadline = None if limit is None else self._now() + limit
        self._emit("state", **data)

    def _emit(self, kind: str, **data: Any) -> None:
        if self._listener is not None:
            self._listener(SessionEvent(self.generation, kind, self.state, data))

    def _require(self, *states: State) -> None:
        if self.state not in states:
            raise SessionError(f"not possible while {self.state.value}")

    def identify(self, identity: ResidentIdentity) -> None:
        self._require(State.IDLE)
        self._identity = identity
        self._go(State.IDENTIFIED)

    def start_choosing(self) -> None:
        self._require(State.IDENTIFIED, State.FILLING)
        self.item = None
        self.values = {}
        self.transaction_key = None  # another item is another transaction
        self._go(State.CHOOSING)

    def available(self, code: str) -> list[Text]:
        """Why the resident cannot start an item: (Chinese, English) rule texts; [] if they can."""
        return self.catalog[code].refusals(self.identity, self._today())

    def choose(self, code: str) -> None:
        """Start an item, after its eligibility rules were checked offline from the identity."""
        self._require(State.CHOOSING)
        item = self.catalog[code]
        refusals = item.refusals(self.identity, self._today())
        if refusals:
            raise SessionError(
                f"{code}: not eligible ({len(refusals)} rule(s))",
                Text(
                    "不符合办理条件：{rules}",
                    rules=Joined(refusals, separator="；", clauses=True),
                ),
            )
        self.item = item
        self.values = {}
        self._go(State.FILLING, item=code)

    def set_value(self, name: str, value: Any) -> str | None:
        """Keep a field's value; returns the problem with it in words (kept anyway, so the
        resident can correct it), or None."""
        self._require(State.FILLING)
        self.touch()
        assert self.item is not None
        fields = {f.name: f for f in self.item.fields}
        if name not in fields:
            raise SessionError(f"{self.item.code} has no field {name!r}")
        if self.values.get(name) != value:
            self.transaction_key = None  # other content: the confirm screen makes a new key
        self.values[name] = value
        return fields[name].problem(value, self._today())

    def review(self) -> dict[str, str]:
        """Open the confirm screen if every field is acceptable; else the problems by field.
        The idempotency key is made here, once per transaction."""
        self._require(State.FILLING)
        assert self.item is not None
        problems = self.item.field_problems(self.values, self._today())
        if problems:
            self.touch()
            return problems
        if self.transaction_key is None:
            self.transaction_key = str(uuid6.uuid7())
        self._go(State.CONFIRMING)
        return {}

    def back(self) -> None:
        """One step back: from the confirm screen to the form, from the form to the menu,
        from the rating to the result."""
        if self.state is State.CONFIRMING:
            self._go(State.FILLING)
        elif self.state is State.FILLING:
            self.start_choosing()
        elif self.state is State.RATING:
            self._go(State.DONE)
        else:
            raise SessionError(f"no way back from {self.state.value}")

    def submit(self, commit: Callable[[str], str]) -> str:
        """Commit the transaction with `commit(key) -> number`; `done` only once it returned.
        On failure the session goes back to the confirm screen with the same key."""
        self._require(State.CONFIRMING)
        assert self.transaction_key is not None
        self._go(State.SUBMITTING)
        try:
            with self.paused():
                number = commit(self.transaction_key)
        except BaseException:
            self._go(State.CONFIRMING)
            raise
        self.number = number
        self._go(State.DONE, number=number)
        return number

    def start_rating(self) -> None:
        self._require(State.DONE)
        self._go(State.RATING)

    def rate(self, level: int, commit: Callable[[str], object]) -> None:
        """Commit a rating (5 非常满意 … 1 非常不满意) of this session's transaction, then end."""
        self._require(State.RATING)
        if level not in RATING_LEVELS:
            raise SessionError(f"rating level {level!r} is not 1..5", N_("请选择一个评价。"))
        assert self.transaction_key is not None
        with self.paused():
            commit(f"{self.transaction_key}:rating")
        self.rated = True
        self.end("rated")

    # --- time --------------------------------------------------------------------------------
    def touch(self) -> None:
        """The resident did something: the time limit starts again, and a warning is lifted."""
        if self.state is State.WIPED:
            return
        was_warning = self.warning
        self._warning_until = None
        limit = self.limits.limit(self.state)
        self._deadline = None if limit is None else self._now() + limit
        if was_warning:
            self._emit("warning_cleared")

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock while a device works or the platform is asked."""
        if self._paused == 0:
            self._paused_at = self._clock()
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            if self._paused == 0:
                waited = self._clock() - self._paused_at
                if self._deadline is not None:
                    self._deadline += waited
                if self._warning_until is not None:
                    self._warning_until += waited

    def tick(self) -> None:
        """Called regularly (the UI clock, the soak loop): warns, then ends, when time runs out."""
        if self._paused or self._deadline is None or self.state is State.WIPED:
            return
        now = self._clock()
        if self._warning_until is None:
            if now >= self._deadline:
                self._warning_until = now + self.limits.warning
                self._emit("warning", seconds=self.limits.warning)
        elif now >= self._warning_until:
            self.end("timeout")

    # --- the end -----------------------------------------------------------------------------
    def end(self, reason: str) -> None:
        """Wipe the resident's data; the kiosk then asks them to take their card."""
        if self.state is State.WIPED:
            return
        if self.state is State.SUBMITTING:
            raise SessionError("cannot end while the transaction is being committed")
        self._identity = None
        self.values = {}
        self.end_reason = reason
        self.state = State.WIPED
        self._deadline = self._warning_until = None
        self._emit("ended", reason=reason, number=self.number or "")
