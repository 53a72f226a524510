"""The outbox on real SQLite files: durability settings, numbers, leases, ratings, failures."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from offline_cache.outbox import (
    SCHEMA_VERSION,
    Outbox,
    OutboxBusy,
    OutboxCorrupt,
    OutboxError,
    OutboxFull,
    Outcome,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Outbox:
    return Outbox(tmp_path / "data" / "outbox.sqlite3", min_free_bytes=0, clock=clock)


def enqueue(outbox: Outbox, key: str, day: str = "20261129") -> str:
    return outbox.enqueue_transaction(key, {"item": "queue-ticket"}, kiosk_id="K1", day=day).number


def test_the_database_is_wal_with_full_sync_and_private(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert stat.S_IMODE(outbox.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.path.parent.stat().st_mode) == 0o700
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_numbers_follow_a_per_day_sequence(outbox: Outbox) -> None:
    assert enqueue(outbox, "a") == "K1-20261129-00001"
    assert enqueue(outbox, "b") == "K1-20261129-00002"
    assert enqueue(outbox, "c", day="20261130") == "K1-20261130-00001"
    assert enqueue(outbox, "d") == "K1-20261129-00003"


def test_the_sequence_survives_reopening(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, min_free_bytes=0, clock=clock) as first:
        enqueue(first, "a")
    with Outbox(path, min_free_bytes=0, clock=clock) as second:
        assert enqueue(second, "b") == "K1-20261129-00002"
        assert [r.number for r in second.rows()] == ["K1-20261129-00001", "K1-20261129-00002"]


def test_the_same_key_twice_makes_one_row(outbox: Outbox) -> None:
    first = outbox.enqueue_transaction("k", {"n": 1}, kiosk_id="K1", day="20261129")
    again = outbox.enqueue_transaction("k", {"n": 1}, kiosk_id="K1", day="20261129")
    assert again.number == first.number
    assert len(outbox.rows()) == 1


def test_a_key_reused_for_other_content_is_refused(outbox: Outbox) -> None:
    outbox.enqueue_transaction("k", {"n": 1}, kiosk_id="K1", day="20261129")
    with pytest.raises(OutboxError, match="already used for other content"):
        outbox.enqueue_transaction("k", {"n": 2}, kiosk_id="K1", day="20261129")
    assert [r.payload for r in outbox.rows()] == [{"n": 1}]


def test_an_expired_lease_is_taken_over_while_the_kiosk_runs(outbox: Outbox, clock: Clock) -> None:
    enqueue(outbox, "a")
    assert [r.key for r in outbox.lease("hung", limit=1, lease_s=30)] == ["a"]
    clock.now += 29
    assert outbox.lease("next", limit=1, lease_s=30) == []
    clock.now += 2
    (row,) = outbox.lease("next", limit=1, lease_s=30)
    assert (row.key, row.lease_owner, row.attempts) == ("a", "next", 2)
    with pytest.raises(OutboxError, match="not leased by hung"):
        outbox.accept("a", "hung")  # the old sender woke up too late
    outbox.accept("a", "next")


def test_rejecting_a_transaction_rejects_its_waiting_rating(outbox: Outbox) -> None:
    enqueue(outbox, "t")
    outbox.enqueue_rating("r", "t", {"level": 1})
    outbox.lease("w", limit=1, lease_s=60)
    outbox.reject("t", "w", "E_NOT_RESIDENT", "not registered here")
    rating = outbox.get("r")
    assert rating is not None
    assert (rating.status, rating.reject_code) == ("rejected", "PARENT_REJECTED")
    assert outbox.status()["queued"] == 0


def test_a_rejected_transaction_cannot_be_rated(outbox: Outbox) -> None:
    enqueue(outbox, "t")
    outbox.lease("w", limit=1, lease_s=60)
    outbox.reject("t", "w", "E", "no")
    with pytest.raises(OutboxError, match="was rejected") as raised:
        outbox.enqueue_rating("r", "t", {"level": 3})
    assert raised.value.resident_message == "这项业务未被受理，无需评价。"


def test_opening_without_create_never_makes_an_empty_outbox(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="there is no outbox at"):
        Outbox(tmp_path / "typo" / "outbox.sqlite3", create=False)
    assert not (tmp_path / "typo").exists()


def test_an_unusable_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutboxError, match="cannot create the outbox in"):
        Outbox(blocker / "data" / "outbox.sqlite3")


def test_payloads_are_json_with_chinese_kept(outbox: Outbox) -> None:
    outbox.enqueue_transaction("k", {"name": "测试一", "n": [1, 2]}, kiosk_id="K1", day="20261129")
    raw = sqlite3.connect(outbox.path).execute("SELECT payload FROM outbox").fetchone()[0]
    assert raw == '{"n":[1,2],"name":"测试一"}'


def test_status_counts_and_the_oldest_queued_age(outbox: Outbox, clock: Clock) -> None:
    assert outbox.status() == {
        "queued": 0,
        "sending": 0,
        "accepted": 0,
        "rejected": 0,
        "oldest_queued_age_s": None,
    }
    enqueue(outbox, "a")
    clock.now += 30
    enqueue(outbox, "b")
    clock.now += 12.5
    assert outbox.status() == {
        "queued": 2,
        "sending": 0,
        "accepted": 0,
        "rejected": 0,
        "oldest_queued_age_s": 42.5,
    }


def test_a_lease_takes_the_oldest_rows_for_one_owner(outbox: Outbox, clock: Clock) -> None:
    for key in "abc":
        enqueue(outbox, key)
        clock.now += 1
    leased = outbox.lease("worker-1", limit=2, lease_s=60)
    assert [r.key for r in leased] == ["a", "b"]
    assert all(r.status == "sending" and r.lease_owner == "worker-1" for r in leased)
    assert [r.key for r in outbox.lease("worker-2", limit=5, lease_s=60)] == ["c"]
    assert outbox.lease("worker-3", limit=5, lease_s=60) == []


def test_accept_reject_and_release_need_the_lease_owner(outbox: Outbox) -> None:
    for key in "abc":
        enqueue(outbox, key)
    outbox.lease("w", limit=3, lease_s=60)
    with pytest.raises(OutboxError, match="not leased by intruder"):
        outbox.accept("a", "intruder")
    outbox.accept("a", "w")
    outbox.reject("b", "w", "E_ELIGIBILITY", "not registered in this community")
    outbox.release("c", "w")
    rows = {r.key: r for r in outbox.rows()}
    assert rows["a"].status == "accepted"
    assert (rows["b"].status, rows["b"].reject_code) == ("rejected", "E_ELIGIBILITY")
    assert rows["b"].reject_reason == "not registered in this community"
    assert (rows["c"].status, rows["c"].attempts) == ("queued", 1)
    with pytest.raises(OutboxError):
        outbox.accept("a", "w")  # already finished


def test_a_batch_answer_is_written_at_once_and_rows_taken_over_are_left_alone(
    outbox: Outbox, clock: Clock
) -> None:
    for key in "abcd":
        enqueue(outbox, key)
    outbox.enqueue_rating("r", "b", {"level": 2})
    outbox.lease("old", limit=4, lease_s=30)
    clock.now += 31
    assert [r.key for r in outbox.lease("new", limit=1, lease_s=30)] == ["a"]
    not_ours = outbox.finish(
        "old",
        [
            Outcome("a", "accepted"),  # taken over by "new" meanwhile
            Outcome("b", "rejected", "E_ELIGIBILITY", "not registered here"),
            Outcome("c", "accepted"),
            Outcome("d", "queued"),
        ],
    )
    assert not_ours == ["a"]
    rows = {r.key: r for r in outbox.rows()}
    assert (rows["a"].status, rows["a"].lease_owner) == ("sending", "new")
    assert (rows["b"].status, rows["b"].reject_code, rows["b"].reject_reason) == (
        "rejected",
        "E_ELIGIBILITY",
        "not registered here",
    )
    assert (rows["r"].status, rows["r"].reject_code) == ("rejected", "PARENT_REJECTED")
    assert (rows["c"].status, rows["c"].lease_owner, rows["c"].lease_expires) == (
        "accepted",
        None,
        None,
    )
    assert (rows["d"].status, rows["d"].lease_owner, rows["d"].attempts) == ("queued", None, 1)
    with pytest.raises(ValueError, match="cannot become 'sending'"):
        outbox.finish("new", [Outcome("a", "sending")])
    assert outbox.get("a").status == "sending"  # type: ignore[union-attr]
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again


def test_only_a_rejection_waits_for_the_disk_among_a_batch_s_answers(outbox: Outbox) -> None:
    for key in "abc":
        enqueue(outbox, key)
    outbox.lease("w", limit=3, lease_s=60)
    statements: list[str] = []
    outbox._db.set_trace_callback(statements.append)
    outbox.finish("w", [Outcome("a", "accepted"), Outcome("b", "queued")])
    assert "PRAGMA synchronous=NORMAL" in statements  # a re-send is harmless
    statements.clear()
    outbox.finish("w", [Outcome("c", "rejected", "E", "no")])
    assert "PRAGMA synchronous=NORMAL" not in statements  # final: flushed like a commit
    assert "COMMIT" in statements
    outbox._db.set_trace_callback(None)


def test_a_lease_merges_expired_leases_and_queued_rows_oldest_first(
    outbox: Outbox, clock: Clock
) -> None:
    for key in "abcde":
        enqueue(outbox, key)
        clock.now += 1
    assert [r.key for r in outbox.lease("dead", limit=1, lease_s=10)] == ["a"]
    outbox.lease("dead", limit=1, lease_s=100)  # "b": still live when "a" has expired
    outbox.release("b", "dead")
    outbox.lease("dead", limit=1, lease_s=100)  # "b" again, oldest queued
    clock.now += 20
    assert [r.key for r in outbox.lease("w", limit=3, lease_s=60)] == ["a", "c", "d"]
    assert [r.key for r in outbox.lease("w", limit=3, lease_s=60)] == ["e"]


def test_stale_leases_return_to_the_queue_and_live_ones_stay(outbox: Outbox, clock: Clock) -> None:
    enqueue(outbox, "a")
    enqueue(outbox, "b")
    outbox.lease("dead", limit=1, lease_s=30)
    clock.now += 10
    outbox.lease("alive", limit=1, lease_s=300)
    clock.now += 25
    assert outbox.recover_stale_leases() == 1
    rows = {r.key: r for r in outbox.rows()}
    assert (rows["a"].status, rows["a"].lease_owner) == ("queued", None)
    assert (rows["b"].status, rows["b"].lease_owner) == ("sending", "alive")


def test_a_rating_is_tied_to_its_transaction_and_sent_only_after_it_was_accepted(
    outbox: Outbox,
) -> None:
    number = enqueue(outbox, "t")
    rating = outbox.enqueue_rating("r", "t", {"level": 5})
    assert (rating.kind, rating.parent_key, rating.number) == ("rating", "t", f"{number}-R")
    assert [r.key for r in outbox.lease("w", limit=10, lease_s=60)] == ["t"]
    assert outbox.lease("w", limit=10, lease_s=60) == []  # the transaction is not accepted yet
    outbox.accept("t", "w")
    assert [r.key for r in outbox.lease("w", limit=10, lease_s=60)] == ["r"]


def test_a_transaction_is_rated_at_most_once(outbox: Outbox) -> None:
    enqueue(outbox, "t")
    outbox.enqueue_rating("r1", "t", {"level": 4})
    assert outbox.enqueue_rating("r1", "t", {"level": 4}).key == "r1"  # same key: same row
    with pytest.raises(OutboxError, match="already rated") as raised:
        outbox.enqueue_rating("r2", "t", {"level": 1})
    assert raised.value.resident_message == "这项业务已经评价过了，谢谢您。"


def test_a_rating_of_nothing_is_refused(outbox: Outbox) -> None:
    with pytest.raises(OutboxError, match="no transaction"):
        outbox.enqueue_rating("r", "missing", {"level": 3})


def test_below_the_free_space_floor_nothing_is_accepted(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", min_free_bytes=2**62)
    with pytest.raises(OutboxFull, match="below the floor") as raised:
        enqueue(outbox, "a")
    assert "存储空间不足" in raised.value.resident_message
    assert outbox.rows() == []


def test_a_disk_that_fills_up_is_reported_and_keeps_what_was_committed(outbox: Outbox) -> None:
    enqueue(outbox, "kept")
    pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
    outbox._db.execute(f"PRAGMA max_page_count={pages}")  # SQLite's own "disk full"
    with pytest.raises(OutboxFull, match="the disk is full"):
        outbox.enqueue_transaction("big", {"blob": "x" * 100_000}, kiosk_id="K1", day="20261129")
    assert [r.key for r in outbox.rows()] == ["kept"]


def test_a_database_locked_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path, min_free_bytes=0, busy_timeout_s=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(OutboxBusy, match="locked by another process"):
            enqueue(outbox, "a")
        with pytest.raises(OutboxBusy, match="locked by another process"):
            outbox.lease("w", limit=1, lease_s=60)  # a commit that skips the flush...
    finally:
        other.execute("ROLLBACK")
        other.close()
    # ...leaves the resident's commits flushed, even when it failed
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert enqueue(outbox, "a") == "K1-20261129-00001"


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutboxCorrupt, match="damaged or is not a database"):
        Outbox(path, min_free_bytes=0)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    Outbox(path, min_free_bytes=0).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(OutboxError, match="written by a newer kiosk"):
        Outbox(path, min_free_bytes=0)


def test_an_exception_inside_a_transaction_rolls_it_back(outbox: Outbox) -> None:
    def insert_then_fail() -> None:
        with outbox._tx("test") as db:
            db.execute("INSERT INTO sequence(day, last) VALUES ('x', 1)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()
    assert outbox._db.execute("SELECT count(*) FROM sequence").fetchone()[0] == 0


def test_row_repr_shows_no_payload(outbox: Outbox) -> None:
    row = outbox.enqueue_transaction("k", {"name": "测试一"}, kiosk_id="K1", day="20261129")
    assert "测试一" not in repr(row)
    assert "K1-20261129-00001" in repr(row)
