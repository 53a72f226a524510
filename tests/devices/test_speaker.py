"""The speaker: real espeak-ng synthesis, speech that never blocks the caller, and an honest
health check on a machine without a sound card."""

from __future__ import annotations

import io
import os
import struct
import time
import wave
from pathlib import Path

import pytest

from devices.base import Fault, HealthLevel, Outcome
from devices.speaker import Speaker, SpeechUnavailable


def loudest(wav: bytes) -> int:
    """The largest sample of a 16-bit mono WAV: 0 is silence."""
    with wave.open(io.BytesIO(wav)) as read:
        assert (read.getsampwidth(), read.getnchannels()) == (2, 1)
        frames = read.readframes(read.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    return int(max(abs(s) for s in samples))


def test_a_prompt_is_synthesised_as_audible_mandarin_speech() -> None:
    speaker = Speaker(play=False)
    try:
        wav = speaker.synthesize("请将身份证放在读卡区")
    finally:
        speaker.close()
    assert wav.startswith(b"RIFF")
    assert loudest(wav) > 3000
    with wave.open(io.BytesIO(wav)) as read:
        assert read.getnframes() / read.getframerate() > 1.0  # a sentence, not a click


def test_each_prompt_is_said_in_the_voice_it_asks_for(tmp_path: Path) -> None:
    # A resident who switched to English hears English: the screens pass the voice along.
    speaker = Speaker(play=False, record_to=tmp_path)
    try:
        speaker.say("idle", "Please place your card below.", voice="en-us")
        speaker.say("idle", "Please place your card below.")
        assert speaker.wait_idle(30)
        english = speaker.synthesize("Please place your card below.", "en-us")
        mandarin = speaker.synthesize("Please place your card below.")
    finally:
        speaker.close()
    assert english != mandarin
    assert (tmp_path / "01-idle.wav").read_bytes() == english
    assert (tmp_path / "02-idle.wav").read_bytes() == mandarin
    assert loudest(english) > 3000


def test_a_voice_espeak_does_not_have_fails_the_health_check_by_name() -> None:
    speaker = Speaker(play=False, other_voices=("en-us", "xx-no-such-voice"))
    try:
        health = speaker.check_health(HealthLevel.INTERNAL)
    finally:
        speaker.close()
    assert health.outcome is Outcome.FAILED
    assert "'xx-no-such-voice'" in health.summary


def test_volume_changes_the_loudness() -> None:
    quiet, loud = Speaker(play=False, volume=10), Speaker(play=False, volume=100)
    try:
        assert loudest(quiet.synthesize("测试")) < loudest(loud.synthesize("测试")) / 3
    finally:
        quiet.close()
        loud.close()


def test_saying_never_waits_and_recording_keeps_every_prompt(tmp_path: Path) -> None:
    speaker = Speaker(play=False, record_to=tmp_path)
    try:
        started = time.monotonic()
        for index in range(5):
            speaker.say(f"screen{index}", f"第{index + 1}个提示")
        assert time.monotonic() - started < 0.05  # the UI thread is never held up
        assert speaker.wait_idle(30)
    finally:
        speaker.close()
    assert [name for name, _ in speaker.recorded] == [
        f"{i:02d}-screen{i - 1}.wav" for i in range(1, 6)
    ]
    assert [caption for _, caption in speaker.recorded] == [f"第{i}个提示" for i in range(1, 6)]
    assert all(loudest((tmp_path / name).read_bytes()) > 3000 for name, _ in speaker.recorded)


def test_without_a_sound_card_speech_fails_quietly_and_health_says_why() -> None:
    speaker = Speaker(play=True)
    try:
        speaker.say("idle", "您好")
        assert speaker.wait_idle(10)
        health = speaker.check_health(HealthLevel.INTERNAL)
        if (
            Path("/proc/asound/cards").exists()
            and "no soundcards" not in Path("/proc/asound/cards").read_text()
        ):
            pytest.fail("this test needs a machine without a sound card (as CI is)")
        assert (health.outcome, health.fault) == (Outcome.FAILED, Fault.HARDWARE)
        assert health.summary == "no sound card or player: prompts are shown as captions only"
        assert speaker.check_health(HealthLevel.INTERACTIVE).outcome is Outcome.NOT_RUN
    finally:
        speaker.close()


def test_without_espeak_the_reason_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no espeak-ng on it
    speaker = Speaker(play=False)
    try:
        with pytest.raises(SpeechUnavailable, match=r"espeak-ng is not installed"):
            speaker.synthesize("测试")
        health = speaker.check_health(HealthLevel.INTERNAL)
        assert health.outcome is Outcome.FAILED
        assert "espeak-ng is not installed" in health.summary
    finally:
        speaker.close()
    assert os.environ["PATH"] == str(tmp_path)
