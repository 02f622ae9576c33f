#!/usr/bin/python3 -B
"""libe2e.mqtt with paho-mqtt: the on_message helper on paho's own message
objects, then Python publisher -> real mosquitto -> Python subscriber."""

import queue
import unittest

import support
from support import libe2e as e2e, needs

TOPIC = "e2e/py/temp"


def paho_message(topic, payload, retain=False, dup=False):
    """A message as paho's network loop builds it."""
    mqtt = support.paho()
    m = mqtt.MQTTMessage(mid=1, topic=topic.encode())
    m.payload = payload
    m.retain = retain
    m.dup = dup
    return m


class Collect:
    def __init__(self):
        self.accepted = queue.Queue()
        self.rejected = queue.Queue()

    def on_accept(self, msg):
        self.accepted.put(msg)

    def on_reject(self, err, mqtt_message):
        self.rejected.put(err)


@needs("e2e_seal", "e2e_open")
class SubscriberHelper(unittest.TestCase):
    def setUp(self):
        support.paho()
        self.kr = e2e.Keyring()
        self.kr.generate()
        self.sender = e2e.Sender(self.kr)
        self.got = Collect()
        self.sub = e2e.mqtt.Subscriber(e2e.Receiver(self.kr),
                                       self.got.on_accept,
                                       self.got.on_reject)

    def tearDown(self):
        self.sender.close()
        self.kr.close()

    def test_genuine_message_reaches_on_accept(self):
        self.sub(None, None, paho_message(TOPIC,
                                          self.sender.seal(TOPIC, b"21.5")))
        msg = self.got.accepted.get_nowait()
        self.assertEqual((msg.topic, msg.payload), (TOPIC, b"21.5"))
        self.assertEqual((self.sub.accepted, self.sub.rejected), (1, 0))

    def test_tampered_message_reaches_on_reject_with_reason(self):
        env = bytearray(self.sender.seal(TOPIC, b"21.5"))
        env[-1] ^= 1
        self.sub(None, None, paho_message(TOPIC, bytes(env)))
        err = self.got.rejected.get_nowait()
        self.assertEqual((err.reason, err.topic), ("bad-tag", TOPIC))
        self.assertTrue(self.got.accepted.empty())
        self.assertEqual(e2e.mqtt.format_rejection(err),
                         "rejected %s: bad-tag: %s" % (TOPIC, err.message))

    def test_retain_flag_is_passed_as_retained_delivery(self):
        env = self.sender.seal(TOPIC, b"x")  # sealed without retained intent
        self.sub(None, None, paho_message(TOPIC, env, retain=True))
        self.assertEqual(self.got.rejected.get_nowait().reason,
                         "not-retained")

    @support.needs_guard
    def test_redelivered_duplicate_is_counted_not_rejected(self):
        with e2e.Guard() as g:
            self.sub.receiver = e2e.Receiver(self.kr, guard=g)
            env = self.sender.seal(TOPIC, b"x")
            self.sub(None, None, paho_message(TOPIC, env))
            self.sub(None, None, paho_message(TOPIC, env, dup=True))
            self.assertEqual((self.sub.accepted, self.sub.rejected,
                              self.sub.duplicates), (1, 0, 1))

    @support.needs_guard
    def test_replay_without_dup_flag_is_rejected(self):
        with e2e.Guard() as g:
            self.sub.receiver = e2e.Receiver(self.kr, guard=g)
            env = self.sender.seal(TOPIC, b"x")
            self.sub(None, None, paho_message(TOPIC, env))
            self.sub(None, None, paho_message(TOPIC, env))
            self.assertEqual(self.got.rejected.get_nowait().reason, "replay")

    def test_publisher_seals_with_the_retain_flag(self):
        sent = []

        class Client:
            def publish(self, topic, payload, qos, retain):
                sent.append((topic, payload, qos, retain))

        e2e.mqtt.Publisher(Client(), self.sender).publish(TOPIC, b"v", 1,
                                                          True)
        topic, env, qos, retain = sent[0]
        self.assertEqual((topic, qos, retain), (TOPIC, 1, True))
        self.assertTrue(e2e.parse(env).retained)


@needs("e2e_seal", "e2e_open")
class ThroughMosquitto(unittest.TestCase):
    """Python publisher -> mosquitto -> Python subscriber."""

    @classmethod
    def setUpClass(cls):
        support.paho()
        cls.broker = support.Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()

    def setUp(self):
        self.kr = e2e.Keyring()
        self.kr.generate()
        self.signer = e2e.Signer()
        self.trust = e2e.Trust()
        self.trust.add(self.signer.public_key, "e2e/#")
        self.got = Collect()
        rx = e2e.Receiver(self.kr, self.trust)
        self.sub = e2e.mqtt.Subscriber(rx, self.got.on_accept,
                                       self.got.on_reject)
        self.subc = support.connect(self.broker, "py-sub", self.sub)
        support.subscribe(self.subc, "e2e/#")
        self.pubc = support.connect(self.broker, "py-pub")

    def tearDown(self):
        for c in (self.subc, self.pubc):
            c.disconnect()
            c.loop_stop()
        self.trust.close()
        self.signer.close()
        self.kr.close()

    def publish(self, sender, topic, payload, retain=False):
        info = e2e.mqtt.Publisher(self.pubc, sender).publish(
            topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)

    def test_messages_arrive_verified_and_in_order(self):
        with e2e.Sender(self.kr) as s:
            for i in range(20):
                self.publish(s, TOPIC, b"m%d" % i)
        got = [self.got.accepted.get(timeout=10).payload for _ in range(20)]
        self.assertEqual(got, [b"m%d" % i for i in range(20)])

    def test_signed_message_arrives_with_its_signer(self):
        with e2e.Sender(self.kr, self.signer) as s:
            self.publish(s, TOPIC, b"signed")
        msg = self.got.accepted.get(timeout=10)
        self.assertEqual(msg.payload, b"signed")
        self.assertEqual(msg.info.sender_id, self.signer.id)
        self.assertTrue(msg.info.signed)

    def test_raw_publish_is_rejected_as_not_e2e(self):
        self.pubc.publish(TOPIC, b'{"temp": 99}', qos=1).wait_for_publish(10)
        self.assertEqual(self.got.rejected.get(timeout=10).reason, "not-e2e")

    def test_retained_message_is_delivered_on_subscribe(self):
        topic = "e2e/py/retained"
        with e2e.Sender(self.kr) as s:
            self.publish(s, topic, b"last", retain=True)
        self.assertEqual(self.got.accepted.get(timeout=10).payload, b"last")
        late_got = Collect()
        late = support.connect(self.broker, "py-late", e2e.mqtt.Subscriber(
            e2e.Receiver(self.kr), late_got.on_accept, late_got.on_reject))
        try:
            support.subscribe(late, topic)
            msg = late_got.accepted.get(timeout=10)
            self.assertEqual((msg.payload, msg.retained), (b"last", True))
        finally:
            late.disconnect()
            late.loop_stop()
            self.pubc.publish(topic, b"", qos=1, retain=True).wait_for_publish(
                10)


if __name__ == "__main__":
    support.main()
