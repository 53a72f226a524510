"""The chaos proxy injects each fault as it says, per request, and leaves nothing behind."""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.harness.chaos_proxy import FAULTS, ChaosProxy

MakeProxy = Callable[..., ChaosProxy]

BODY = json.dumps({"accepted": True, "number": "SQ-0001", "pad": "x" * 2000}).encode()
REQUEST = {"transaction": "0193a6c2-7d4e-7b51-9f3a-5c2b8e1d4f60"}


class Upstream(ThreadingHTTPServer):
    """A real HTTP/1.1 keep-alive server that counts the POSTs it processed, and from where."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.posts = 0
        self.peers: set[tuple[str, int]] = set()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two writes: no 40 ms wait between them
    server: Upstream

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.posts += 1
            self.server.peers.add(self.client_address)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 700):
                chunk = BODY[start : start + 700]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        else:  # no length: the body ends when the connection does
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="upstream", daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def only(fault: str) -> dict[str, int]:
    return {name: int(name == fault) for name in (*FAULTS, "pass")}


def reset_by_peer(error: requests.ConnectionError) -> bool:
    """An RST: a plain close before the answer would show as RemoteDisconnected instead."""
    return "ConnectionResetError" in str(error)


def test_pass_keeps_each_request_separate_on_one_connection(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=0)
    with requests.Session() as session:
        for _ in range(5):
            response = session.post(f"{proxy.url}/sync", json=REQUEST, timeout=2)
            assert response.status_code == 200
            assert response.content == BODY
    assert proxy.counts == {**only("pass"), "pass": 5}
    assert upstream.posts == 5
    assert len(upstream.peers) == 1, "one kept-alive client connection, one upstream connection"


def test_chunked_and_close_delimited_answers_pass_whole(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=0)
    with requests.Session() as session:
        chunked = session.get(f"{proxy.url}/chunked", timeout=2)
        assert chunked.headers["Transfer-Encoding"] == "chunked"
        assert chunked.content == BODY
        delimited = session.get(f"{proxy.url}/close", timeout=2)
        assert "Content-Length" not in delimited.headers
        assert delimited.content == BODY
        assert session.post(f"{proxy.url}/sync", json=REQUEST, timeout=2).content == BODY
    assert proxy.counts["pass"] == 3


def test_reset_before_never_reaches_the_server(upstream: Upstream, chaos_proxy: MakeProxy) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=1.0, faults=["reset_before"])
    with requests.Session() as session, pytest.raises(requests.ConnectionError) as error:
        session.post(proxy.url, json=REQUEST, timeout=2)
    assert reset_by_peer(error.value)
    assert upstream.posts == 0
    assert proxy.counts == only("reset_before")


def test_reset_after_the_server_processed_the_request(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=1.0, faults=["reset_after"])
    with requests.Session() as session, pytest.raises(requests.ConnectionError) as error:
        session.post(proxy.url, json=REQUEST, timeout=2)
    assert reset_by_peer(error.value)
    assert upstream.posts == 1
    assert proxy.counts == only("reset_after")


def test_truncate_cuts_the_answer_inside_its_body(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=1.0, faults=["truncate"])
    with (
        requests.Session() as session,
        pytest.raises(requests.exceptions.ChunkedEncodingError) as error,
    ):
        session.post(proxy.url, json=REQUEST, timeout=2)
    assert "IncompleteRead" in str(error.value)

    request = b"POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as raw:
        raw.sendall(request)
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert f"Content-Length: {len(BODY)}".encode() in head
    assert 0 < len(body) < len(BODY)
    assert abs(len(received) - (len(head) + 4 + len(BODY)) / 2) <= 1
    assert upstream.posts == 2
    assert proxy.counts == {**only("truncate"), "truncate": 2}


def test_delay_holds_the_answer_back(upstream: Upstream, chaos_proxy: MakeProxy) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=1.0, faults=["delay"], delay_s=0.3)
    with requests.Session() as session:
        started = time.monotonic()
        response = session.post(proxy.url, json=REQUEST, timeout=2)
        elapsed = time.monotonic() - started
    assert response.content == BODY
    assert 0.3 <= elapsed < 1.0
    assert upstream.posts == 1
    assert proxy.counts == only("delay")


def test_silence_lets_the_client_timeout_fire(upstream: Upstream, chaos_proxy: MakeProxy) -> None:
    proxy = chaos_proxy(upstream.port, fault_rate=1.0, faults=["silence"], silence_s=3.0)
    with requests.Session() as session, pytest.raises(requests.ReadTimeout):
        session.post(proxy.url, json=REQUEST, timeout=0.5)
    assert upstream.posts == 0
    assert proxy.counts == only("silence")
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 0.5, "stop() ends a silence without waiting it out"


def test_faults_are_chosen_per_request_and_reproducibly(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    def outcomes(proxy: ChaosProxy) -> list[bool]:
        results = []
        with requests.Session() as session:
            for _ in range(12):
                try:
                    session.post(proxy.url, json=REQUEST, timeout=2)
                except requests.ConnectionError:
                    results.append(False)
                else:
                    results.append(True)
        return results

    first = outcomes(chaos_proxy(upstream.port, seed=3, fault_rate=0.5, faults=["reset_before"]))
    second = outcomes(chaos_proxy(upstream.port, seed=3, fault_rate=0.5, faults=["reset_before"]))
    assert first == second
    assert 0 < first.count(True) < len(first)
    assert upstream.posts == 2 * first.count(True)


def test_max_faults_and_set_fault_rate_let_requests_through(
    upstream: Upstream, chaos_proxy: MakeProxy
) -> None:
    limited = chaos_proxy(upstream.port, fault_rate=1.0, faults=["reset_after"], max_faults=2)
    adjusted = chaos_proxy(upstream.port, fault_rate=1.0, faults=["reset_before"])
    with requests.Session() as session:
        for expected in (False, False, True, True, True):
            try:
                session.post(limited.url, json=REQUEST, timeout=2)
            except requests.ConnectionError:
                assert not expected
            else:
                assert expected
        with pytest.raises(requests.ConnectionError):
            session.post(adjusted.url, json=REQUEST, timeout=2)
        adjusted.set_fault_rate(0)
        assert session.post(adjusted.url, json=REQUEST, timeout=2).content == BODY
    assert limited.counts == {**only("reset_after"), "reset_after": 2, "pass": 3}
    assert adjusted.counts == only("reset_before") | {"pass": 1}
    assert upstream.posts == 6


def test_stop_leaves_no_thread_or_socket(upstream: Upstream) -> None:
    def threads(port: int) -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith(f"chaos-proxy:{port}:")]

    with ChaosProxy(upstream.port, fault_rate=0) as proxy, requests.Session() as session:
        session.post(proxy.url, json=REQUEST, timeout=2)  # its connection stays open, idle
        assert sorted(threads(proxy.port)) == [
            f"chaos-proxy:{proxy.port}:accept",
            f"chaos-proxy:{proxy.port}:conn1",
        ]
        proxy.stop()
        assert sorted(threads(proxy.port)) == []
    proxy.stop()  # again: nothing to do
    gc.collect()  # an unclosed socket would warn now, and warnings fail tests here


def test_rejects_unknown_faults_and_rates() -> None:
    with pytest.raises(ValueError, match="faults"):
        ChaosProxy(1, faults=["drop"])
    with pytest.raises(ValueError, match="fault_rate"):
        ChaosProxy(1, fault_rate=1.5)
