"""The simulators' side of a serial line (a socat pty) or a socket: read what the driver sends
until the line closes or the simulator is stopped. Shared by the simulators only: they import
no production code, so that a misreading of the reference cannot hide in both sides."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable


def serve_line(fd: int, stop: threading.Event, feed: Callable[[bytes], bool]) -> None:
    """Hand each chunk that arrives on `fd` to `feed` (False: stop serving); close `fd` at the
    end. A line that goes away (socat stopped, the peer closed) ends it, as an unplugged
    device would."""
    try:
        while not stop.is_set():
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not chunk or not feed(chunk):
                return
    finally:
        os.close(fd)
