"""Test-wide settings. The real services live in tests/harness/plugin.py (loaded by pyproject)."""

from hypothesis import HealthCheck, settings

# CI runs on two shared cores: a per-example deadline would make property tests flaky, and
# the timeout plugin already stops a test that really hangs.
settings.register_profile(
    "kiosk", deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("kiosk")
