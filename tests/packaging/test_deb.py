"""`make test-deb`: the Debian package built from this checkout, checked by lintian and
systemd-analyze, installed into a clean Debian 12 root (debootstrap), and started there in demo
mode under Xvfb until it answers on its metrics endpoint. Root only (chroot, mount)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.debroot import BUILD, REPO, DebRoot, run

pytestmark = pytest.mark.deb
VERSION = re.search(r'^version = "(.*)"', (REPO / "pyproject.toml").read_text(), re.M)[1]  # type: ignore[index]
PACKAGE = REPO / "dist" / f"community-kiosk_{VERSION}_amd64.deb"


@pytest.fixture(scope="module")
def package() -> Path:
    built = run([str(REPO / "packaging" / "build-deb.sh")], cwd=REPO, timeout=1800)
    assert built.strip().endswith(PACKAGE.name)
    return PACKAGE


@pytest.fixture(scope="module")
def root(package: Path) -> Iterator[DebRoot]:
    assert os.geteuid() == 0, "make test-deb needs root (chroot and mount); CI runs as root"
    debroot = DebRoot(BUILD / "debroot")
    try:
        debroot.install(package)
        yield debroot
    finally:
        debroot.close()


def test_lintian_accepts_the_package_and_every_override_says_why(package: Path) -> None:
    done = subprocess.run(
        ["lintian", "--fail-on", "error", "--tag-display-limit", "0", str(package)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (REPO / "packaging" / "deb" / "lintian-overrides").read_text().splitlines()
    overrides = [n for n, line in enumerate(lines) if line.startswith("community-kiosk:")]
    assert overrides
    for n in overrides:
        above = lines[:n]
        # The nearest line above that is not itself an override is a comment: the reason.
        reason = next(line for line in reversed(above) if not line.startswith("community-kiosk:"))
        assert reason.startswith("# "), (lines[n], reason)
        assert len(reason) > 20, (lines[n], reason)


def test_systemd_accepts_the_unit(root: DebRoot) -> None:
    # Inside the root, where cage, pcscd and cups are installed as the unit expects. Its
    # complaints go to stderr with exit status 0: none may name the kiosk's unit.
    done = root.attempt("systemd-analyze", "verify", "/lib/systemd/system/kiosk.service")
    assert done.returncode == 0, done.stderr
    assert "kiosk" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_session_passes_on_the_kiosks_exit_status_which_cage_does_not(root: DebRoot) -> None:
    """kiosk-session: cage (here a stand-in that, like cage 0.1.4, always exits 0) runs the
    kiosk; then the kiosk's own status decides whether systemd restarts it."""
    cage = root.path / "usr/bin/cage"
    real = cage.read_bytes()
    runtime = root.path / "run/kiosk-test"
    runtime.mkdir(exist_ok=True)
    try:
        stand_in = '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\n"$@"\nexit 0\n'
        cage.write_text(stand_in)
        env = {"RUNTIME_DIRECTORY": "/run/kiosk-test"}
        # The shipped configuration is not filled in: the kiosk says so and leaves 2, which the
        # unit does not restart (RestartPreventExitStatus).
        unconfigured = root.attempt("/usr/lib/kiosk/kiosk-session", env=env)
        assert unconfigured.returncode == 2, unconfigured.stderr
        assert (runtime / "exit-status").read_text() == "2\n"
        # Killed before it could say anything: a crash, restarted.
        cage.write_text("#!/bin/sh\nexit 0\n")
        killed = root.attempt("/usr/lib/kiosk/kiosk-session", env=env)
        assert killed.returncode == 70
        assert "the kiosk left no exit status (cage: 0)" in killed.stderr
    finally:
        cage.write_bytes(real)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    number = 90 + os.getpid() % 9
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1080x1920x24", "-nolisten", "tcp", "-ac"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert time.monotonic() < deadline, "Xvfb did not start (apt-get install xvfb)"
            time.sleep(0.1)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def test_installed_in_a_clean_root_the_kiosk_starts_and_answers_its_metrics(
    root: DebRoot, display: str
) -> None:
    assert (root.path / "var/lib/kiosk").stat().st_mode & 0o777 == 0o700
    port = free_port()
    kiosk = root.popen(
        "--userspec=kiosk:kiosk",
        "/usr/bin/kiosk",
        "--demo",
        "run",
        env={
            "DISPLAY": display,
            "HOME": "/var/lib/kiosk",
            "KIOSK_DATA_DIR": "/var/lib/kiosk/demo",
            "KIOSK_METRICS": f"127.0.0.1:{port}",
            "KIVY_NO_ARGS": "1",
            "TZ": "Asia/Shanghai",
        },
    )
    try:
        text = scrape(port, kiosk)
        assert kiosk.poll() is None, kiosk.communicate(timeout=10)
        assert f'kiosk_info{{kiosk_id="DEMO-0001",version="{VERSION}"}} 1.0' in text, text
        assert 'kiosk_device_up{role="reader",url="sim://"} 1.0' in text
        assert 'kiosk_outbox_rows{status="queued"} 0.0' in text
        assert "kiosk_platform_up 1.0" in text
    finally:
        kiosk.terminate()  # chroot runs the kiosk itself: this is the service manager's stop
        _out, err = kiosk.communicate(timeout=30)
    assert kiosk.returncode == 0, err[-3000:]  # SIGTERM: a clean stop
    logs = root.path / "var/lib/kiosk/demo/logs/kiosk.jsonl"
    assert logs.stat().st_mode & 0o777 == 0o600


def test_under_cage_as_the_service_runs_it_the_kiosk_shows_and_answers(root: DebRoot) -> None:
    """The service's own path: cage (wlroots' headless backend here, no GPU), Xwayland, the
    kiosk in it; stopped as systemd stops a unit (SIGTERM to every process), it ends."""
    runtime = root.path / "run/user/kiosk"
    runtime.mkdir(parents=True, exist_ok=True)
    root.chroot("chown", "kiosk:kiosk", "/run/user/kiosk")
    runtime.chmod(0o700)
    port = free_port()
    session = root.popen(
        "--userspec=kiosk:kiosk",
        "/usr/bin/cage",
        "-d",
        "--",
        "/usr/bin/kiosk",
        "--demo",
        "run",
        env={
            "WLR_BACKENDS": "headless",
            "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            "XDG_RUNTIME_DIR": "/run/user/kiosk",
            "HOME": "/var/lib/kiosk",
            "KIOSK_DATA_DIR": "/var/lib/kiosk/cage",
            "KIOSK_METRICS": f"127.0.0.1:{port}",
            "TZ": "Asia/Shanghai",
        },
    )
    try:
        text = scrape(port, session)
        assert session.poll() is None, session.communicate(timeout=10)
        assert "kiosk_platform_up 1.0" in text, text
        assert 'kiosk_device_up{role="receipt_printer",url="sim://"} 1.0' in text
    finally:
        # As systemd stops the unit: SIGTERM to every process at once. cage and Xwayland may
        # go first and take the kiosk's window with them; what it committed is on disk already.
        os.killpg(session.pid, signal.SIGTERM)
        try:
            session.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(session.pid, signal.SIGKILL)
            session.communicate()
            raise AssertionError("the session did not stop within 60 s of SIGTERM") from None


def scrape(port: int, process: subprocess.Popen[str]) -> str:
    """The metrics once the platform has answered (or whatever came within two minutes)."""
    text, deadline = "", time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            if "kiosk_platform_up 1.0" in text:
                break
        except OSError:
            pass
        time.sleep(1)
    return text


def test_without_its_settings_the_packaged_kiosk_says_what_is_missing_never_demo(
    root: DebRoot,
) -> None:
    done = root.attempt(
        "/usr/bin/kiosk",
        "--config",
        "/etc/kiosk/kiosk.toml",
        "run",
        option="--userspec=kiosk:kiosk",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "kiosk.id is not set" in done.stderr or "kiosk.id is empty" in done.stderr, done.stderr
    assert "demo" not in done.stdout.lower()


def previous_release() -> tuple[str, str]:
    """The newest release older than this checkout (packaging/releases.txt): version, commit."""
    releases = [
        line.split()
        for line in (REPO / "packaging" / "releases.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    older = [(v, c) for v, c in releases if v != VERSION]
    assert older, "packaging/releases.txt names no release before this version"
    version, commit = older[-1]
    return version, commit


@pytest.fixture(scope="module")
def previous_package() -> Path:
    """The previous release's package, built from its own commit with its own build script."""
    version, commit = previous_release()
    tree = BUILD / f"release-{version}"
    deb = tree / "dist" / f"community-kiosk_{version}_amd64.deb"
    if deb.exists():
        return deb
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True, timeout=120
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=120)
    # .mo files are built, not committed: compiled as `make setup` would.
    run([str(REPO / ".venv/bin/pybabel"), "compile", "-D", "kiosk", "-d", "kiosk/locale"], cwd=tree)
    built = run([str(tree / "packaging" / "build-deb.sh")], cwd=tree, timeout=1800)
    assert built.strip() == f"dist/{deb.name}"
    return deb


QUEUED_ENV = {
    "HOME": "/var/lib/kiosk",
    "KIOSK_DATA_DIR": "/var/lib/kiosk",
    "KIOSK_READER": "sim://",
    # Nothing answers here: what the soak commits stays queued, as on a kiosk offline.
    "KIOSK_PLATFORM_URL": "http://127.0.0.1:9/kiosk",
    "TZ": "Asia/Shanghai",
}


def as_kiosk(root: DebRoot, *args: str) -> str:
    return root.chroot("chroot", "--userspec=kiosk:kiosk", "/", *args, env=QUEUED_ENV)


def test_an_upgrade_from_the_previous_release_keeps_the_queue_the_key_and_the_settings(
    package: Path, previous_package: Path
) -> None:
    old_version, _commit = previous_release()
    debroot = DebRoot(BUILD / "debroot-upgrade")
    try:
        debroot.install(previous_package)
        assert f"Version: {old_version}" in debroot.chroot("dpkg", "-s", "community-kiosk")
        as_kiosk(debroot, "/usr/bin/kiosk", "--demo", "soak", "--sessions", "3")
        before = json.loads(
            as_kiosk(debroot, "/usr/bin/kiosk", "--demo", "queue", "status", "--json")
        )
        assert before["queued"] >= 3, before  # three transactions (and the ratings given)
        keys = debroot.path / "var/lib/kiosk/keys"
        key_files = {p.name: p.read_bytes() for p in keys.iterdir() if p.is_file()}
        assert key_files
        settings = debroot.path / "etc/kiosk/kiosk.toml"
        edited = settings.read_text().replace('id = ""', 'id = "BJ-DC-0042"', 1)
        settings.write_text(edited)

        debroot.install(package)  # the upgrade

        assert f"Version: {VERSION}" in debroot.chroot("dpkg", "-s", "community-kiosk")
        after = json.loads(
            as_kiosk(debroot, "/usr/bin/kiosk", "--demo", "queue", "status", "--json")
        )
        assert after["queued"] == before["queued"]
        assert {p.name: p.read_bytes() for p in keys.iterdir() if p.is_file()} == key_files
        assert settings.read_text() == edited  # the technician's file, not the package's
        assert (debroot.path / "var/lib/kiosk").stat().st_mode & 0o777 == 0o700
        listed = as_kiosk(debroot, "/usr/bin/kiosk", "--demo", "queue", "list")
        assert listed.count("queued") == before["queued"], listed
    finally:
        debroot.close()
