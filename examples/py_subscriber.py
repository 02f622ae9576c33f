#!/usr/bin/python3
"""Receive verified messages in Python with paho-mqtt and libe2e.

    py_subscriber.py [-H HOST] [-p PORT] -K KEYRING [--trust FILE] \
                     [--require-signature] -t TOPIC [-C COUNT]

Prints "TOPIC PAYLOAD" for each verified message and one line on stderr for
each rejected one ("rejected TOPIC: REASON: detail"), control characters
escaped (libe2e.escape), so each message is one line. With -C, exits after
COUNT verified messages (or fails after 30 s). With --state FILE, the replay
state survives a restart (loaded now, saved every second and on exit).
"""
import argparse
import sys
import threading

import paho.mqtt.client as mqtt

import libe2e
import libe2e.mqtt

ap = argparse.ArgumentParser()
ap.add_argument("-H", "--host", default="localhost")
ap.add_argument("-p", "--port", type=int, default=1883)
ap.add_argument("-K", "--keyring")
ap.add_argument("--trust", help="trust file: signers accepted, on which topics")
ap.add_argument("--require-signature", action="store_true")
ap.add_argument("-t", "--topic", required=True)
ap.add_argument("-C", "--count", type=int, default=0)
ap.add_argument("--state", help="replay-state file (as e2e-sub --state)")
args = ap.parse_args()

keyring = libe2e.Keyring.load(args.keyring) if args.keyring else None
trust = libe2e.Trust.load(args.trust) if args.trust else None
guard = libe2e.Guard()  # replay and freshness checks, library defaults
receiver = libe2e.Receiver(keyring, trust, guard,
                           require_signature=args.require_signature)
done = threading.Event()
count = 0


def accept(msg):  # only verified bytes get here
    global count
    print(libe2e.escape(msg.topic), libe2e.escape(msg.payload), flush=True)
    count += 1
    if count == args.count:
        done.set()


def reject(err, mqtt_message):
    print(libe2e.mqtt.format_rejection(err), file=sys.stderr, flush=True)


def subscribed(client, userdata, mid, granted_qos):
    print("ready", file=sys.stderr, flush=True)


client = mqtt.Client()
# Subscribing through the Subscriber tells it the filters: a message on any
# other topic is refused as "not-subscribed".
sub = libe2e.mqtt.Subscriber(receiver, accept, reject, state=args.state)
client.on_message = sub
client.on_subscribe = subscribed
client.on_connect = lambda c, u, f, rc: sub.subscribe(c, args.topic, qos=1)
client.connect(args.host, args.port)
client.loop_start()
try:
    while not done.wait(30 if args.count else None):
        if args.count:
            break  # 30 s without the messages we wait for
finally:
    client.disconnect()
    client.loop_stop()
    sub.close()  # saves the replay state a last time
sys.exit(0 if not args.count or count == args.count else 1)
