"""pytest plugin: the real services, as session fixtures, and the test-wide environment.

Fixtures `xvfb`, `pcscd` and `cupsd` start their service once per test run, the first time a
test asks for it, and stop it (by its own process id) when the run ends. A test that uses one
is marked `services` automatically, so `make test-fast` can leave those out.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.harness.chaos_proxy import ChaosProxy
from tests.harness.services import (
    Service,
    ServiceUnavailable,
    start_cupsd,
    start_pcscd,
    start_pty_pair,
    start_xvfb,
)

SERVICE_FIXTURES = ("xvfb", "pcscd", "cupsd", "pty_pair")

# Dates shown and printed use Asia/Shanghai; the tests run there whatever the machine says.
os.environ["TZ"] = "Asia/Shanghai"
time.tzset()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in SERVICE_FIXTURES):
            item.add_marker(pytest.mark.services)


def _service(start: Callable[[], Service]) -> Iterator[Service]:
    try:
        service = start()
    except ServiceUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    saved = {key: os.environ.get(key) for key in service.env}
    os.environ.update(service.env)
    try:
        yield service
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        service.stop()


@pytest.fixture(scope="session")
def xvfb() -> Iterator[Service]:
    """A virtual X server; DISPLAY is set while the run lasts."""
    yield from _service(start_xvfb)


@pytest.fixture(scope="session")
def pcscd() -> Iterator[Service]:
    """pcscd with two virtual readers; KIOSK_TEST_VPCD_PORT is the first reader's port."""
    yield from _service(start_pcscd)


@pytest.fixture(scope="session")
def cupsd() -> Iterator[Service]:
    """A private cupsd (CUPS_SERVER) with an A4 queue that prints into a file."""
    yield from _service(start_cupsd)


@pytest.fixture
def pty_pair() -> Iterator[Service]:
    """A fresh socat pty pair for each test: KIOSK_TEST_PTY_HOST and KIOSK_TEST_PTY_DEVICE."""
    yield from _service(start_pty_pair)


@pytest.fixture
def chaos_proxy() -> Iterator[Callable[..., ChaosProxy]]:
    """`chaos_proxy(upstream_port, **kwargs)` starts a ChaosProxy; each one stops at teardown."""
    proxies: list[ChaosProxy] = []

    def make(upstream_port: int, **kwargs: Any) -> ChaosProxy:
        proxy = ChaosProxy(upstream_port, **kwargs)
        proxies.append(proxy)
        proxy.start()
        return proxy

    yield make
    for proxy in proxies:
        proxy.stop()
