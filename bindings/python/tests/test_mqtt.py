#!/usr/bin/python3 -B
"""libe2e.mqtt with paho-mqtt: the on_message helper on paho's own message
objects, then Python publisher -> real mosquitto -> Python subscriber."""

import os
import queue
import shutil
import tempfile
import time
import unittest

import support
from support import libe2e as e2e, needs

TOPIC = "e2e/py/temp"


def paho_message(topic, payload, retain=False, dup=False):
    """A message as paho's network loop builds it."""
    mqtt = support.paho()
    m = mqtt.MQTTMessage(mid=1, topic=topic if isinstance(topic, bytes)
                         else topic.encode())
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
                                       self.got.on_reject,
                                       filters=["e2e/py/#"])

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

    def test_subscribe_adds_the_filter_then_subscribes_the_client(self):
        calls = []

        class Client:
            def subscribe(self, topic, qos):
                calls.append((topic, qos, sub.filters))

        sub = self.sub
        sub.subscribe(Client(), "e2e/py/#", 1)
        sub.subscribe(Client(), "e2e/py/#", 1)  # again, after a reconnect
        self.assertEqual(calls, [("e2e/py/#", 1, ("e2e/py/#",))] * 2)

    def test_subscribe_takes_paho_lists_of_filters(self):
        class Client:
            def subscribe(self, topic, qos):
                pass

        self.sub.subscribe(Client(), [("a/#", 1), ("b/+", 0)])
        self.sub.subscribe(Client(), ("c", 1))
        self.assertEqual(self.sub.filters, ("e2e/py/#", "a/#", "b/+", "c"))

    def test_state_needs_a_receiver_with_a_guard(self):
        with self.assertRaises(ValueError):
            e2e.mqtt.Subscriber(e2e.Receiver(self.kr), self.got.on_accept,
                                state="never-created")

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


def close_client(client):
    client.disconnect()
    client.loop_stop()


@needs("e2e_seal", "e2e_open", "e2e_subscription_matches")
class FromAMisbehavingBroker(unittest.TestCase):
    """A fake broker sends what mosquitto never relays (a NUL in a topic,
    bytes that are not UTF-8, a topic nobody subscribed to): each is a
    Rejected with its reason, and paho's loop goes on delivering."""

    def setUp(self):
        support.paho()
        self.kr, self.sender = support.keyring_and_sender(self)
        self.got = Collect()
        self.sub = e2e.mqtt.Subscriber(e2e.Receiver(self.kr),
                                       self.got.on_accept,
                                       self.got.on_reject)
        self.broker = support.scripted_broker()
        self.addCleanup(self.broker.close)
        self.client = support.connect(self.broker, "py-sub", self.sub)
        self.addCleanup(close_client, self.client)

    def subscribe(self, topic_filter="e2e/py/#"):
        """Subscribe through the Subscriber, as an application does."""
        self.sub.subscribe(self.client, topic_filter, 0)
        self.broker.wait_subscribed()

    def send(self, topic, payload):
        self.broker.publish(topic, payload, qos=0)

    def send_genuine(self, payload=b"after"):
        self.send(TOPIC, self.sender.seal(TOPIC, payload))

    def assertDeliveryGoesOn(self, payload=b"after"):
        msg = self.got.accepted.get(timeout=10)
        self.assertEqual((msg.topic, msg.payload), (TOPIC, payload))

    def test_nul_in_topic_is_bad_topic_and_later_messages_arrive(self):
        self.subscribe()
        self.send(TOPIC.encode() + b"\0x", self.sender.seal(TOPIC, b"x"))
        self.send_genuine()
        self.assertDeliveryGoesOn()
        err = self.got.rejected.get_nowait()
        self.assertEqual((err.reason, err.raw_topic),
                         ("bad-topic", TOPIC.encode() + b"\0x"))

    def test_topic_not_utf8_is_bad_topic_and_later_messages_arrive(self):
        self.subscribe()
        self.send(b"e2e/py/\xff\xfe", self.sender.seal(TOPIC, b"x"))
        self.send_genuine()
        self.assertDeliveryGoesOn()
        err = self.got.rejected.get_nowait()
        self.assertEqual((err.reason, err.raw_topic),
                         ("bad-topic", b"e2e/py/\xff\xfe"))
        self.assertEqual(e2e.mqtt.format_rejection(err),
                         "rejected e2e/py/\\xff\\xfe: bad-topic: %s "
                         "(topic is not UTF-8)" % err.message)

    def test_genuine_envelope_for_an_unsubscribed_topic_is_not_subscribed(
            self):
        self.subscribe("e2e/py/#")
        self.send("alerts/fire", self.sender.seal("alerts/fire", b"EVACUATE"))
        self.send_genuine()
        self.assertDeliveryGoesOn()
        err = self.got.rejected.get_nowait()
        self.assertEqual((err.reason, err.topic),
                         ("not-subscribed", "alerts/fire"))
        self.assertEqual((self.sub.accepted, self.sub.rejected), (1, 1))

    def test_default_on_reject_logs_the_topic_escaped(self):
        self.client.on_message = e2e.mqtt.Subscriber(
            e2e.Receiver(self.kr), self.got.on_accept)
        self.subscribe()
        with self.assertLogs("libe2e.mqtt", "WARNING") as logs:
            self.send("e2e/py/x\n\u202eFAKE \x1b[31m\\", b"junk")
            self.send_genuine()
            self.assertDeliveryGoesOn()
        self.assertEqual(
            [line for line in logs.output if "rejected" in line],
            ["WARNING:libe2e.mqtt:rejected "
             "e2e/py/x\\n\\u{202e}FAKE \\x1b[31m\\\\: not-e2e: "
             "not an e2e envelope"])

    def test_exception_in_on_reject_is_logged_and_later_messages_arrive(
            self):
        def on_reject(err, mqtt_message):
            raise RuntimeError("bug in the application")

        self.sub.on_reject = on_reject
        self.subscribe()
        with self.assertLogs("libe2e.mqtt", "ERROR") as logs:
            self.send(TOPIC, b"junk")
            self.send_genuine()
            self.assertDeliveryGoesOn()
        self.assertIn("bug in the application", logs.output[0])
        self.assertEqual(self.sub.errors, 1)


class WithMosquitto(unittest.TestCase):
    """A private mosquitto (cls.broker) for the tests of the class."""

    @classmethod
    def setUpClass(cls):
        support.paho()
        cls.broker = support.Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()


@needs("e2e_seal", "e2e_open")
class ThroughMosquitto(WithMosquitto):
    """Python publisher -> mosquitto -> Python subscriber."""

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
        support.subscribe(self.subc, "e2e/#", via=self.sub)
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

    def test_str_payload_is_published_as_its_utf8_bytes(self):
        # paho publishes a str as its UTF-8 bytes; the Publisher seals them.
        with e2e.Sender(self.kr) as s:
            self.publish(s, TOPIC, "K\u00fcche 21.5 \u00b0C")
        msg = self.got.accepted.get(timeout=10)
        self.assertEqual(msg.payload, "K\u00fcche 21.5 \u00b0C".encode())

    def test_signed_message_arrives_with_its_signer(self):
        with e2e.Sender(self.kr, self.signer) as s:
            self.publish(s, TOPIC, b"signed")
        msg = self.got.accepted.get(timeout=10)
        self.assertEqual(msg.payload, b"signed")
        self.assertEqual(msg.info.sender_id, self.signer.id)
        self.assertTrue(msg.info.signed)

    def test_exception_in_on_accept_is_logged_and_later_messages_arrive(
            self):
        calls = []

        def on_accept(msg):
            calls.append(msg)
            if len(calls) == 1:
                raise RuntimeError("bug in the application")
            self.got.on_accept(msg)

        self.sub.on_accept = on_accept
        with self.assertLogs("libe2e.mqtt", "ERROR") as logs, \
                e2e.Sender(self.kr) as s:
            self.publish(s, TOPIC, b"first")
            self.publish(s, TOPIC, b"second")
            self.assertEqual(self.got.accepted.get(timeout=10).payload,
                             b"second")
        self.assertIn("bug in the application", logs.output[0])
        self.assertEqual((self.sub.accepted, self.sub.errors), (2, 1))

    def test_shared_subscription_made_through_subscribe_is_delivered(self):
        got = Collect()
        sub = e2e.mqtt.Subscriber(e2e.Receiver(self.kr), got.on_accept,
                                  got.on_reject)
        c = support.connect(self.broker, "py-shared", sub)
        self.addCleanup(close_client, c)
        support.subscribe(c, "$share/py/e2e/shared/#", via=sub)
        with e2e.Sender(self.kr) as s:
            self.publish(s, "e2e/shared/a", b"to the group")
        self.assertEqual(got.accepted.get(timeout=10).payload,
                         b"to the group")
        self.assertTrue(got.rejected.empty())

    def test_raw_publish_is_rejected_as_not_e2e(self):
        self.pubc.publish(TOPIC, b'{"temp": 99}', qos=1).wait_for_publish(10)
        self.assertEqual(self.got.rejected.get(timeout=10).reason, "not-e2e")

    def test_retained_message_is_delivered_on_subscribe(self):
        topic = "e2e/py/retained"
        with e2e.Sender(self.kr) as s:
            self.publish(s, topic, b"last", retain=True)
        self.assertEqual(self.got.accepted.get(timeout=10).payload, b"last")
        late_got = Collect()
        late_sub = e2e.mqtt.Subscriber(e2e.Receiver(self.kr),
                                       late_got.on_accept, late_got.on_reject)
        late = support.connect(self.broker, "py-late", late_sub)
        try:
            support.subscribe(late, topic, via=late_sub)
            msg = late_got.accepted.get(timeout=10)
            self.assertEqual((msg.payload, msg.retained), (b"last", True))
        finally:
            late.disconnect()
            late.loop_stop()
            self.pubc.publish(topic, b"", qos=1, retain=True).wait_for_publish(
                10)


@needs("e2e_seal", "e2e_open", "e2e_guard_save", "e2e_guard_load")
@support.needs_guard
class ReplayStateAcrossRestarts(WithMosquitto):
    """Subscriber(state=PATH) saves the replay state as e2e-sub --state
    does, so a restarted subscriber still refuses what it accepted."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-py-state-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.state = os.path.join(self.dir, "replay.state")
        self.kr = e2e.Keyring()
        self.addCleanup(self.kr.close)
        self.kr.generate()
        self.pubc = support.connect(self.broker, "py-state-pub")
        self.addCleanup(close_client, self.pubc)

    def start(self, name, **kw):
        """A subscriber on e2e/state/# with a fresh guard and the state."""
        guard = e2e.Guard()
        self.addCleanup(guard.close)
        got = Collect()
        sub = e2e.mqtt.Subscriber(e2e.Receiver(self.kr, guard=guard),
                                  got.on_accept, got.on_reject,
                                  state=self.state, **kw)
        client = support.connect(self.broker, name, sub)
        support.subscribe(client, "e2e/state/#", via=sub)
        return sub, got, client

    def publish_raw(self, envelope):
        self.pubc.publish("e2e/state/t", envelope, qos=1).wait_for_publish(10)

    def test_restarted_subscriber_refuses_a_replay(self):
        with e2e.Sender(self.kr) as s:
            env = s.seal("e2e/state/t", b"open the door")
        sub, got, client = self.start("py-state-1")
        self.publish_raw(env)
        self.assertEqual(got.accepted.get(timeout=10).payload,
                         b"open the door")
        close_client(client)
        sub.close()
        sub, got, client = self.start("py-state-2")
        self.addCleanup(sub.close)
        self.addCleanup(close_client, client)
        self.publish_raw(env)  # the broker, or anyone, replays it
        self.assertEqual(got.rejected.get(timeout=10).reason, "replay")
        self.assertTrue(got.accepted.empty())

    def test_state_is_saved_while_running_not_only_on_close(self):
        sub, got, client = self.start("py-state-run", save_interval=0.1)
        self.addCleanup(sub.close)
        self.addCleanup(close_client, client)
        with e2e.Sender(self.kr) as s:
            self.publish_raw(s.seal("e2e/state/t", b"x"))
        got.accepted.get(timeout=10)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.state) and time.monotonic() < deadline:
            time.sleep(0.05)
        with e2e.Guard() as g:  # what a crash now would leave
            g.load(self.state)
            self.assertEqual(g.sender_count, 1)

    def test_corrupt_state_file_refuses_to_start(self):
        with open(self.state, "w") as f:
            f.write("not a replay state\n")
        with self.assertRaises(e2e.E2EError) as cm, e2e.Guard() as g:
            e2e.mqtt.Subscriber(e2e.Receiver(self.kr, guard=g), print,
                                state=self.state)
        self.assertEqual(cm.exception.reason, "state-corrupt")


if __name__ == "__main__":
    support.main()
