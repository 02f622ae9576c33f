#!/usr/bin/python3 -B
"""A Python member of a consumer group, for test_groups.py: subscribes to
$share/GROUP/FILTER through paho with a libe2e.Receiver whose replay guard
is libe2e.redis.SharedGuard, and prints as e2e-sub -v does: "TOPIC PAYLOAD"
per accepted message on stdout, "group_member: rejected TOPIC: REASON: detail"
per refusal on stderr, "connected and subscribed" once subscribed.

    group_member.py HOST PORT FILTER KEYRING REDIS_URL QOS
"""

import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "bindings", "python"))
if os.environ.get("top_builddir") and not os.environ.get("LIBE2E_BUILDDIR"):
    os.environ["LIBE2E_BUILDDIR"] = os.environ["top_builddir"]

import paho.mqtt.client as mqtt  # noqa: E402

import libe2e  # noqa: E402
from libe2e.mqtt import Subscriber  # noqa: E402
from libe2e.redis import SharedGuard  # noqa: E402


def main():
    host, port, filt, ring, url, qos = sys.argv[1:7]
    rx = libe2e.Receiver(libe2e.Keyring.load(ring), guard=SharedGuard(url))
    out_lock = threading.Lock()

    def accept(msg):
        with out_lock:
            sys.stdout.write("%s %s\n" % (msg.topic,
                                          msg.payload.decode("utf-8")))
            sys.stdout.flush()

    def reject(err, message):
        with out_lock:
            sys.stderr.write("group_member: rejected %s: %s: %s\n"
                             % (message.topic, err.reason, err.message))
            sys.stderr.flush()

    sub = Subscriber(rx, accept, reject)
    client = mqtt.Client(client_id="pymember-%d" % os.getpid())
    client.on_message = sub

    def on_connect(c, userdata, flags, rc):
        sub.subscribe(c, filt, int(qos))

    def on_subscribe(c, userdata, mid, granted):
        sys.stderr.write("group_member: connected and subscribed\n")
        sys.stderr.flush()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.connect(host, int(port), 60)
    try:
        client.loop_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
