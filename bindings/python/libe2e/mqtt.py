"""Glue for paho-mqtt (Debian's python3-paho-mqtt 1.6): verified messages in,
sealed messages out. paho itself is not imported here: any client object
with paho's ``on_message`` and ``publish`` works.

Subscriber side::

    sub = libe2e.mqtt.Subscriber(receiver, on_accept=print)
    client.on_message = sub          # or sub.attach(client)

Each incoming PUBLISH is opened with ``receiver``; ``on_accept(message)``
gets a :class:`libe2e.Message` (verified payload, topic, header, whether the
broker delivered it as retained); ``on_reject(error, mqtt_message)`` gets a
:class:`libe2e.Rejected` with ``.reason`` ("bad-tag", "replay", ...). A
replay of a message the broker marked as a redelivery (the MQTT DUP flag:
QoS 1/2 retransmission) is not a rejection worth a report: it is counted in
``duplicates`` and passed to ``on_duplicate`` if given.

Publisher side::

    pub = libe2e.mqtt.Publisher(client, sender)
    pub.publish("sensors/1/temp", b"21.5", qos=1, retain=True)
"""

import logging

from .core import ERRORS, Rejected

__all__ = ["Subscriber", "Publisher", "format_rejection"]

log = logging.getLogger("libe2e.mqtt")


def format_rejection(err):
    """One line like e2e-sub's: 'rejected TOPIC: REASON: detail'."""
    return "rejected %s: %s: %s" % (err.topic, err.reason, err.message)


def _log_rejection(err, mqtt_message):
    log.warning("%s", format_rejection(err))


class Subscriber:
    """A paho ``on_message`` callback that verifies every message.

    Counters: ``accepted``, ``rejected``, ``duplicates``. Exceptions other
    than a rejection (a closed keyring, a bug in a callback) propagate to
    paho.
    """

    def __init__(self, receiver, on_accept, on_reject=None,
                 on_duplicate=None):
        self.receiver = receiver
        self.on_accept = on_accept
        self.on_reject = on_reject if on_reject is not None else \
            _log_rejection
        self.on_duplicate = on_duplicate
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0

    def attach(self, client):
        """Install as client.on_message; return self."""
        client.on_message = self
        return self

    def __call__(self, client, userdata, message):
        try:
            topic = message.topic
        except UnicodeDecodeError:
            # paho decodes topics as UTF-8; MQTT requires it, so a topic
            # that is not is refused like any other bad topic.
            topic = bytes(message._topic)
        try:
            msg = self.receiver.open(topic, message.payload,
                                     retained=bool(message.retain))
        except Rejected as err:
            if err.code == ERRORS["E2E_ERR_REPLAY"] and message.dup:
                self.duplicates += 1
                if self.on_duplicate is not None:
                    self.on_duplicate(err, message)
                return
            self.rejected += 1
            self.on_reject(err, message)
            return
        self.accepted += 1
        self.on_accept(msg)


class Publisher:
    """Seal with a :class:`libe2e.Sender`, then publish through paho.

    The retained-intent bit of the envelope follows ``retain``, as the
    receiver checks.
    """

    def __init__(self, client, sender):
        self.client = client
        self.sender = sender

    def publish(self, topic, payload, qos=0, retain=False):
        """Seal payload (bytes) for topic and publish it; return paho's
        MQTTMessageInfo."""
        envelope = self.sender.seal(topic, payload, retained=retain)
        return self.client.publish(topic, envelope, qos=qos, retain=retain)
