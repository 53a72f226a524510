"""The contract (offline_cache/contract/platform.yaml) holds on both sides: every request the
client makes and every answer the reference platform gives, over real HTTP on loopback,
validates against the OpenAPI document, for every operation and every kind of refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

from offline_cache.client import (
    BatchRefused,
    ClockSkew,
    KioskRefused,
    PlatformClient,
    Transient,
)
from offline_cache.outbox import Outbox
from offline_cache.platform_server import Faults, Running, Store
from offline_cache.sync import SyncWorker
from tests.offline_cache.platform_kit import credentials, enqueue, platform

QUEUE = {"queued": 0, "sending": 0, "accepted": 6, "rejected": 1}
CONTRACT = Path(__file__).parents[2] / "offline_cache" / "contract" / "platform.yaml"


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    # Loading also validates the document itself against the OpenAPI 3.1 schema.
    return OpenAPI.from_file_path(str(CONTRACT))


class Checked:
    """Validates each exchange of a client against the contract, as it happens."""

    def __init__(self, openapi: OpenAPI, client: PlatformClient) -> None:
        self.openapi = openapi
        self.seen: list[tuple[str, int]] = []
        self.errors: list[str] = []
        client._session.hooks["response"].append(self.check)

    def check(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = RequestsOpenAPIRequest(response.request)
        self.seen.append((response.request.path_url, response.status_code))
        try:
            self.openapi.validate_request(request)
            self.openapi.validate_response(request, RequestsOpenAPIResponse(response))
        except Exception as error:  # noqa: BLE001 - collected, so the test shows every mismatch
            self.errors.append(f"{response.request.path_url} {response.status_code}: {error!r}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with platform(tmp_path / "platform", max_batch=4, reject_items=frozenset({"closed-item"})) as p:
        yield p


def test_the_contract_is_a_valid_openapi_document() -> None:
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    validate(document)  # raises on any departure from the OpenAPI 3.1 schema
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert operations == {"enrol", "submitBatch", "query", "heartbeat"}


def test_every_operation_and_answer_follows_the_contract(
    openapi: OpenAPI, running: Running, tmp_path: Path
) -> None:
    client = PlatformClient(running.url, credentials())
    checked = Checked(openapi, client)
    outbox = Outbox(tmp_path / "outbox.sqlite3", min_free_bytes=0)
    try:
        enqueue(outbox, 3)
        enqueue(outbox, 1, item="closed-item", rate=False)
        worker = SyncWorker(outbox, client)
        assert worker.sync_until_empty(20)
        assert worker.progress.accepted == 6  # 3 transactions and their 3 ratings
        assert worker.progress.rejected == 1
        first = outbox.personal(outbox.rows()[0])
        assert first is not None
        found = client.query(first["applicant"]["id_number"])
        assert found
        assert found[0]["status"] == "accepted"
        client.heartbeat({"version": "1", "queue": QUEUE})
        # 413: more items than the platform takes in one batch.
        items = [worker._item(row) for row in outbox.rows()[:6]]
        with pytest.raises(BatchRefused):
            client.submit(items)
    finally:
        client.close()
        outbox.close()
    assert not checked.errors, "\n".join(checked.errors)
    statuses = {status for _, status in checked.seen}
    assert {200, 413} <= statuses


def test_refusals_follow_the_contract(openapi: OpenAPI, tmp_path: Path) -> None:
    with platform(tmp_path / "p", faults=Faults(fail_rate=1.0, seed=3)) as failing:
        client = PlatformClient(failing.url, credentials())
        checked = Checked(openapi, client)
        for _ in range(12):
            with pytest.raises(Transient):
                client.enrol()
        client.close()
    assert {s for _, s in checked.seen} == {429, 500, 503}
    assert not checked.errors, "\n".join(checked.errors)

    with platform(tmp_path / "q") as running:
        store = Store(tmp_path / "q")
        stranger = PlatformClient(running.url, credentials())
        checked = Checked(openapi, stranger)
        with pytest.raises(KioskRefused) as unknown:
            stranger.heartbeat({"version": "1", "queue": QUEUE})
        assert (unknown.value.status, unknown.value.code) == (401, "NOT_ENROLLED")
        stranger.enrol()
        store.revoke("TEST-0001")
        with pytest.raises(KioskRefused) as revoked:
            stranger.query("11010519491231002X")
        assert (revoked.value.status, revoked.value.code) == (403, "KIOSK_REVOKED")
        skewed = PlatformClient(running.url, credentials("TEST-0002"), clock=lambda: 1_000_000.0)
        checked_skew = Checked(openapi, skewed)
        with pytest.raises(ClockSkew) as noticed:
            skewed.enrol()  # the platform enrols it, but the kiosk sees the server's time
        assert noticed.value.status == 200
        with pytest.raises(ClockSkew) as skew:
            skewed.query("11010519491231002X")
        assert (skew.value.status, skew.value.code) == (401, "CLOCK_SKEW")
        stranger.close()
        skewed.close()
        store.close()
    assert not checked.errors + checked_skew.errors, "\n".join(checked.errors + checked_skew.errors)
