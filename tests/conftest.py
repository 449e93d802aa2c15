"""Settings shared by the whole test suite."""

from __future__ import annotations

import os

# The fake's default time model is instant: its gateway has finished a request's work before the
# front answers, so there is nothing to drain after a 999, a timeout or a 5xx (API.md E32), and
# the default 1.5 s per number would only make fault tests wait. The variable reaches the CLI
# subprocesses too. Tests of the drain pass gateway_drain= (tests/test_send_gate.py); the default
# is proven in test_send_gate.test_the_drain_defaults_to_one_and_a_half_seconds_a_number.
os.environ["MIOGRAM_GATEWAY_DRAIN"] = "0"
