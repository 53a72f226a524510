"""A clean Debian 12 root for the package tests, built by debootstrap and entered with chroot.

The first build is kept as a tarball under build/ (a clean clone makes it again); every test
session unpacks a fresh copy, so nothing one run installed is seen by the next. Packages the
root downloads are copied out to build/apt-cache and back in next time (copied, not mounted:
a root is deleted at the end, and nothing of the host may be mounted into it then).

Only /proc, /dev and /sys are mounted, and the root is deleted only after
/proc/self/mountinfo shows nothing mounted under it. Xvfb's abstract socket reaches the root
without a mount (abstract sockets belong to the network namespace, not the file system).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).parents[2]
BUILD = REPO / "build"
TARBALL = BUILD / "debroot-bookworm-minbase.tar"
MIRROR = "http://deb.debian.org/debian"
CACHE = BUILD / "apt-cache"


class RootError(RuntimeError):
    pass


def run(
    args: Sequence[str],
    *,
    timeout: float = 1800,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise RootError(
            f"{' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def tarball() -> Path:
    """debootstrap once; later runs start from its tarball."""
    if TARBALL.exists():
        return TARBALL
    if shutil.which("debootstrap") is None:
        raise RootError(
            "debootstrap is missing: make test-deb installs it (or apt-get install debootstrap)"
        )
    staging = BUILD / "debroot-staging"
    _remove(staging)
    CACHE.mkdir(parents=True, exist_ok=True)
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--cache-dir={CACHE}",
            "bookworm",
            str(staging),
            MIRROR,
        ]
    )
    part = TARBALL.with_suffix(".part")
    run(["tar", "-C", str(staging), "-cf", str(part), "."])
    part.rename(TARBALL)
    _remove(staging)
    return TARBALL


class DebRoot:
    """A fresh root from the tarball, with /proc, /dev, /sys and the X socket folder mounted,
    the host's resolver and apt archive, and services kept from starting (policy-rc.d)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounts: list[Path] = []
        _remove(path)  # a root a killed run left behind, its mounts released first
        path.mkdir(parents=True)
        run(["tar", "-C", str(path), "-xf", str(tarball())])
        shutil.copy("/etc/resolv.conf", path / "etc/resolv.conf")
        policy = path / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# no service starts inside the test root\nexit 101\n")
        policy.chmod(0o755)
        for source, target, how in (
            ("proc", "proc", ["-t", "proc"]),
            ("/dev", "dev", ["--rbind"]),
            ("/sys", "sys", ["--rbind"]),
        ):
            point = path / target
            point.mkdir(parents=True, exist_ok=True)
            run(["mount", *how, source, str(point)])
            self.mounts.append(point)
            if "--rbind" in how:
                # A slave: the host's mounts still show inside, but unmounting ours later can
                # never unmount the host's own /dev/pts or /sys/fs/cgroup (shared peers would).
                run(["mount", "--make-rslave", str(point)])

    def chroot(self, *args: str, timeout: float = 1800, env: dict[str, str] | None = None) -> str:
        environment = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
            **(env or {}),
        }
        return run(["chroot", str(self.path), *args], timeout=timeout, env=environment)

    def attempt(
        self, *args: str, option: str = "", env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`chroot [OPTION] ROOT ARGS...`, whatever its exit status, for the test to judge."""
        return subprocess.run(
            ["chroot", *([option] if option else []), str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **(env or {})},
        )

    def popen(self, option: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
        """`chroot OPTION ROOT ARGS...` (e.g. --userspec=kiosk:kiosk): chroot then runs the
        command itself, so a signal to the Popen reaches it."""
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **env}
        return subprocess.Popen(
            ["chroot", option, str(self.path), *args],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a process group, to stop the way systemd stops a unit
        )

    def install(self, *debs: Path) -> str:
        inside = []
        for deb in debs:
            shutil.copy(deb, self.path / "tmp" / deb.name)
            inside.append(f"/tmp/{deb.name}")
        archives = self.path / "var/cache/apt/archives"
        for cached in CACHE.glob("*.deb"):
            if not (archives / cached.name).exists():
                shutil.copy(cached, archives / cached.name)
        self.chroot("apt-get", "update", "-qq")
        out = self.chroot(
            "apt-get", "install", "-y", "-qq", "--no-install-recommends", *inside, timeout=3600
        )
        for fetched in archives.glob("*.deb"):
            if not (CACHE / fetched.name).exists():
                shutil.copy(fetched, CACHE / fetched.name)
        return out

    def close(self) -> None:
        _remove(self.path)
        self.mounts.clear()


def mounted_under(path: Path) -> list[str]:
    """Mount points at or under `path`, deepest first, from /proc/self/mountinfo (which sees
    bind mounts of the same file system, which a device-number check would miss). Its paths
    are bytes with octal escapes for space, tab, newline and backslash."""
    top = os.fsencode(path.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_bytes().splitlines():
        raw = line.split(b" ")[4]
        point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw)
        if point == top or point.startswith(top + b"/"):
            points.append(os.fsdecode(point))
    return sorted(points, key=len, reverse=True)


def _remove(path: Path) -> None:
    """Unmount, then delete. Deleting through a mount would delete the host's /dev or /sys:
    nothing is deleted while anything is mounted under `path`."""
    if not path.exists():
        return
    for point in mounted_under(path):
        subprocess.run(["umount", "-R", "-l", point], check=False, capture_output=True)
    still = mounted_under(path)
    if still:
        raise RootError(f"{path}: {', '.join(still)} still mounted; not deleting it")
    # And never across a file system boundary, whatever mountinfo said.
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False, timeout=600)


def in_clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
