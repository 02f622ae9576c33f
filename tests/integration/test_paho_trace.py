#!/usr/bin/python3 -B
"""Paho's trace level in e2e-pub and e2e-sub (cli/conn.c): the tools keep
only Paho's error level (a Paho built without PAHO_HIGH_PERFORMANCE, as
Debian's is, otherwise records an entry under a global lock for every
function it enters: docs/PERFORMANCE.md, "Counted per message"), but Paho's
own switches MQTT_C_CLIENT_TRACE / MQTT_C_CLIENT_TRACE_LEVEL still give a
user the full trace for debugging (e2e-pub(1), e2e-sub(1), ENVIRONMENT).

Environment: as test_cli.py (make check exports it).
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import CliCase  # noqa: E402


class PahoTrace(CliCase):

    def traced_env(self, **extra):
        env = dict(os.environ, MQTT_C_CLIENT_TRACE=self.path("trace"))
        env.update(extra)
        return env

    def trace_lines(self):
        with open(self.path("trace"), errors="replace") as f:
            return f.read().splitlines()

    def test_paho_trace_switch_gives_the_function_trace(self):
        self.pub("-t", "trace/a", "-m", "hello", env=self.traced_env(
            MQTT_C_CLIENT_TRACE_LEVEL="MINIMUM"))
        entries = [ln for ln in self.trace_lines() if "MQTTAsync_" in ln]
        self.assertGreater(len(entries), 10, "no function trace")

    def test_paho_trace_file_alone_keeps_paho_default_level(self):
        # MQTT_C_CLIENT_TRACE without a level: Paho's own default
        # (minimum), not the errors-only level the tools set otherwise.
        self.pub("-t", "trace/b", "-m", "hello", env=self.traced_env())
        entries = [ln for ln in self.trace_lines() if "MQTTAsync_" in ln]
        self.assertGreater(len(entries), 10, "trace level lowered")

    def test_subscriber_honours_the_trace_switch_too(self):
        sub = self.start_sub("-t", "trace/c", "-C", "1",
                             env=self.traced_env(
                                 MQTT_C_CLIENT_TRACE_LEVEL="MINIMUM"))
        self.pub("-t", "trace/c", "-m", "hello")
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        entries = [ln for ln in self.trace_lines() if "MQTTAsync_" in ln]
        self.assertGreater(len(entries), 10, "no function trace")


if __name__ == "__main__":
    unittest.main()
