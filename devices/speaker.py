"""The speaker: spoken prompts, synthesised offline by espeak-ng (its `cmn-latn-pinyin` voice
reads Chinese characters as Mandarin) and played with `aplay`.

Speech never blocks the caller: `say()` hands the text to one worker thread and returns; a new
prompt replaces one not yet spoken and cuts one being played (a resident who has moved on does
not want the last screen read to them). With no sound card the kiosk keeps working on captions
alone; the health check says so. Only labels and instructions are ever given to it: screens do
not pass personal values (the design's rule for a public hall).

A prompt can also be kept as a WAV file (`record_to`), which is how `kiosk demo` leaves
out/voice/NN-name.wav.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import deque
from pathlib import Path

from devices.base import Fault, HealthLevel, HealthResult, Outcome

SYNTH_TIMEOUT_S = 10.0
PLAY_TIMEOUT_S = 60.0


class SpeechUnavailable(Exception):
    pass


class Speaker:
    url = "speaker://default"

    def __init__(
        self,
        *,
        voice: str = "cmn-latn-pinyin",
        volume: int = 80,
        play: bool = True,
        record_to: Path | None = None,
        other_voices: tuple[str, ...] = (),
    ) -> None:
        self.voice, self.volume, self.play = voice, volume, play
        self.other_voices = other_voices  # asked for by some prompts (English): checked too
        self.record_to = record_to
        self.recorded: list[tuple[str, str]] = []  # (file name, caption), in order
        self.last_error = ""
        # Prompts waiting: only the newest when playing (a resident who moved on does not want
        # the old screen read), every one when recording (each screen keeps its WAV).
        self._pending: deque[tuple[str, str, str]] = deque()
        self._player: subprocess.Popen[bytes] | None = None
        self._lock = threading.Condition()
        self._stopping = False
        self._busy = False  # a prompt is being synthesised or played
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    # --- the caller's side (the UI thread) ------------------------------------------------------
    def say(self, name: str, text: str, voice: str = "") -> None:
        """Speak `text` (labels and instructions only) soon, in `voice` (the default voice
        when empty: the screens pass the voice of the resident's language); returns at once."""
        if not text.strip():
            return
        with self._lock:
            if self.record_to is None:
                self._pending.clear()
            self._pending.append((name, text, voice or self.voice))
            player = self._player if self.record_to is None else None
            self._lock.notify()
        if player is not None and player.poll() is None:
            player.terminate()  # the resident moved on: stop reading the last screen

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and the demo: True once nothing is waiting to be spoken."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        if self.record_to is not None:
            self.wait_idle(30)  # every prompt of a recorded run is kept
        with self._lock:
            self._stopping = True
            self._pending.clear()
            player = self._player
            self._lock.notify()
        if player is not None and player.poll() is None:
            player.terminate()
        self._thread.join(5)

    # --- the worker -----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending) or self._stopping)
                if self._stopping:
                    return
                name, text, voice = self._pending.popleft()
                self._busy = True
            try:
                wav = self.synthesize(text, voice)
                if self.record_to is not None:
                    self._record(name, text, wav)
                if self.play:
                    self._play(wav)
            except SpeechUnavailable as error:
                self.last_error = str(error)  # captions carry on; the health check reports it
            except Exception as error:  # noqa: BLE001 - the worker must outlive any surprise
                self.last_error = f"{type(error).__name__}: {error}"
            finally:
                with self._lock:
                    self._player = None
                    self._busy = False
                    self._lock.notify_all()

    def synthesize(self, text: str, voice: str = "") -> bytes:
        engine = shutil.which("espeak-ng")
        if engine is None:
            raise SpeechUnavailable("espeak-ng is not installed (Debian package espeak-ng)")
        amplitude = str(max(0, min(200, self.volume * 2)))
        try:
            done = subprocess.run(
                [engine, "-v", voice or self.voice, "-a", amplitude, "-s", "150", "--stdout", text],
                capture_output=True,
                timeout=SYNTH_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SpeechUnavailable("espeak-ng took too long") from None
        if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
            raise SpeechUnavailable(f"espeak-ng failed ({done.stderr[:200]!r})")
        return done.stdout

    def _record(self, name: str, text: str, wav: bytes) -> None:
        assert self.record_to is not None
        self.record_to.mkdir(parents=True, exist_ok=True)
        file = f"{len(self.recorded) + 1:02d}-{name}.wav"
        (self.record_to / file).write_bytes(wav)
        self.recorded.append((file, text))

    def _play(self, wav: bytes) -> None:
        player = shutil.which("aplay")
        if player is None:
            raise SpeechUnavailable("aplay is not installed (Debian package alsa-utils)")
        with self._lock:
            if self._pending or self._stopping:
                return  # already replaced: do not start the old prompt
            self._player = subprocess.Popen(
                [player, "-q", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            process = self._player
        try:
            _, err = process.communicate(wav, timeout=PLAY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise SpeechUnavailable("playback hung") from None
        except BrokenPipeError:
            process.communicate()
            return  # cut short by a newer prompt
        if process.returncode not in (0, -15):  # -15: terminated for a newer prompt
            raise SpeechUnavailable(
                f"no audio output ({err.decode(errors='replace')[:120].strip()})"
            )

    def play_once(self, wav: bytes) -> None:
        """Play one sample now, on the caller's thread (the self-test's voice sample)."""
        player = shutil.which("aplay")
        if player is None:
            raise SpeechUnavailable("aplay is not installed (Debian package alsa-utils)")
        try:
            done = subprocess.run(
                [player, "-q", "-"],
                input=wav,
                capture_output=True,
                timeout=PLAY_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SpeechUnavailable("playback hung") from None
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or [""]
            raise SpeechUnavailable(f"no sound card or no audio output ({lines[-1][:120]})")

    # --- health -------------------------------------------------------------------------------
    def check_health(self, level: HealthLevel) -> HealthResult:
        if level is HealthLevel.INTERACTIVE:
            return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to listen")
        try:
            self.synthesize("测试")
        except SpeechUnavailable as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error), Fault.HARDWARE)
        for voice in self.other_voices:
            try:
                self.synthesize("test", voice)
            except SpeechUnavailable as error:
                return HealthResult(
                    self.url, level, Outcome.FAILED, f"voice {voice!r}: {error}", Fault.HARDWARE
                )
        cards = Path("/proc/asound/cards")
        has_card = cards.exists() and "no soundcards" not in cards.read_text().lower()
        if not has_card or shutil.which("aplay") is None:
            return HealthResult(
                self.url,
                level,
                Outcome.FAILED,
                "no sound card or player: prompts are shown as captions only",
                Fault.HARDWARE,
            )
        return HealthResult(self.url, level, Outcome.PASSED, "speech and a sound card are ready")
