"""Shared set-up of the binding's tests: find the package and the library,
run unittest with automake's exit codes, start a private mosquitto.

Environment (make check exports the first ones):
  top_srcdir, top_builddir   the source and build trees
  MOSQUITTO                  the broker (else mosquitto on PATH or /usr/sbin)
  LIBE2E_LIBRARY             overrides the library path
  LIBE2E_TEST_STRICT=1       a skipped test fails instead (for CI, once every
                             part of the tree is expected to be there)

Exit status: 0 all ran and passed, 1 a failure, 77 (automake's SKIP) when any
test was skipped — so a skip shows in make check's summary and never hides
inside a PASS. Every skip prints its reason.
"""

import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.environ.get(
    "LIBE2E_BUILDDIR") or ""
BINDING = os.path.join(SRCDIR, "bindings", "python")

if BUILDDIR and not os.environ.get("LIBE2E_BUILDDIR"):
    os.environ["LIBE2E_BUILDDIR"] = BUILDDIR
sys.path.insert(0, BINDING)

STRICT = os.environ.get("LIBE2E_TEST_STRICT") == "1"
SKIP = 77

try:
    import libe2e  # noqa: E402
    import libe2e.mqtt  # noqa: E402,F401
    LOAD_ERROR = None
except ImportError as exc:  # LibraryNotFoundError, layout mismatch
    libe2e = None
    LOAD_ERROR = str(exc)


def need_library():
    """Exit with SKIP (or fail when strict) if the library did not load."""
    if libe2e is None:
        print("SKIP: libe2e binding cannot load the library:\n" + LOAD_ERROR)
        sys.exit(1 if STRICT else SKIP)


def missing_symbols(*names):
    return [n for n in names if not libe2e.has_symbol(n)]


def needs(*symbols):
    """Decorator: skip a test or class while the library lacks a function
    (a part of the library still being written)."""
    missing = missing_symbols(*symbols) if libe2e else list(symbols)
    if missing:
        return unittest.skip("library lacks " + ", ".join(missing))
    return lambda obj: obj


def guard_available():
    """The replay guard is implemented (not the placeholder)."""
    if missing_symbols("e2e_guard_new", "e2e_guard_sender_count"):
        return False
    try:
        libe2e.Guard().close()
        return True
    except libe2e.E2EError:
        return False


def needs_guard(obj):
    if libe2e is None or not guard_available():
        return unittest.skip("the replay guard is not implemented yet")(obj)
    return obj


def keyring_and_sender(test):
    """A keyring with a primary key and a Sender on it, both closed when
    the test (a unittest.TestCase) is cleaned up."""
    kr = libe2e.Keyring()
    test.addCleanup(kr.close)
    kr.generate()
    sender = libe2e.Sender(kr)
    test.addCleanup(sender.close)
    return kr, sender


def program(name):
    """Path of a program built in the build tree, or None."""
    for sub in ("cli", "examples", "."):
        p = os.path.join(BUILDDIR, sub, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def main():
    """Run the calling module's tests; exit 0, 1 or 77 (see above)."""
    need_library()
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    result = prog.result
    for test, reason in result.skipped:
        print("SKIPPED %s: %s" % (test.id(), reason))
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        sys.exit(1 if STRICT else SKIP)
    if result.testsRun == 0:
        print("no test ran")
        sys.exit(1)
    sys.exit(0)


# ---------------------------------------------------------------------------
# A private broker: tests/integration/broker.py (mosquitto on a free loopback
# port, own config, stopped by PID), in a temporary directory.
# ---------------------------------------------------------------------------

def mosquitto_path():
    p = os.environ.get("MOSQUITTO")
    if p and os.path.exists(p):
        return p
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto")
        else None)


class Broker:
    """A started mosquitto (.host, .port); close() stops it and cleans up."""

    def __init__(self):
        self.dir = None
        self._broker = None

    def start(self):
        if mosquitto_path() is None:
            raise unittest.SkipTest("mosquitto not found (set MOSQUITTO)")
        sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))
        try:
            import broker
        except ImportError as exc:
            raise unittest.SkipTest(
                "tests/integration/broker.py missing: %s" % exc)
        self.dir = tempfile.mkdtemp(prefix="e2e-py-broker-")
        self._broker = broker.Broker(self.dir).start()
        self.host, self.port = self._broker.host, self._broker.port
        return self

    def close(self):
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False


def scripted_broker():
    """A started tests/integration/broker.py ScriptedBroker (.host, .port):
    a fake broker that sends exactly the PUBLISH packets a test scripts,
    for attacks mosquitto itself refuses to relay (a NUL in a topic)."""
    sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))
    try:
        import broker
    except ImportError as exc:
        raise unittest.SkipTest(
            "tests/integration/broker.py missing: %s" % exc)
    return broker.ScriptedBroker()


def paho():
    """The paho.mqtt.client module, or SkipTest."""
    try:
        import paho.mqtt.client as client
        return client
    except ImportError:
        raise unittest.SkipTest("python3-paho-mqtt is not installed")


def connect(broker, client_id, on_message=None):
    """A paho client connected to broker, network loop running."""
    mqtt = paho()
    import threading
    c = mqtt.Client(client_id=client_id, clean_session=True)
    connected = threading.Event()
    c.on_connect = lambda cl, ud, flags, rc: connected.set()
    if on_message is not None:
        c.on_message = on_message
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    if not connected.wait(10):
        c.loop_stop()
        raise RuntimeError("paho could not connect to the broker")
    return c


def subscribe(client, topic, qos=1, via=None):
    """Subscribe (through via.subscribe, a libe2e.mqtt.Subscriber, when
    given) and wait for SUBACK."""
    import threading
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    if via is not None:
        via.subscribe(client, topic, qos)
    else:
        client.subscribe(topic, qos)
    if not done.wait(10):
        raise RuntimeError("no SUBACK for %s" % topic)
