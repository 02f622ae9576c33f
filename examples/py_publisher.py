#!/usr/bin/python3
"""Publish sealed messages from Python with paho-mqtt and libe2e.

    py_publisher.py [-H HOST] [-p PORT] -K KEYRING [--sign SECRET] \
                    -t TOPIC [-r] MESSAGE...

Needs the binding on the path (PYTHONPATH=bindings/python) and the library
(installed, or LIBE2E_BUILDDIR=build tree). Keys: `e2e-keygen keyring init`.
"""
import argparse
import getpass

import paho.mqtt.client as mqtt

import libe2e
import libe2e.mqtt

ap = argparse.ArgumentParser()
ap.add_argument("-H", "--host", default="localhost")
ap.add_argument("-p", "--port", type=int, default=1883)
ap.add_argument("-K", "--keyring", required=True)
ap.add_argument("--sign", help="signer secret key file (signs every message)")
ap.add_argument("-t", "--topic", required=True)
ap.add_argument("-r", "--retain", action="store_true")
ap.add_argument("message", nargs="+")
args = ap.parse_args()

with libe2e.Keyring.load(args.keyring) as keyring:
    signer = None
    if args.sign:
        _, encrypted = libe2e.Signer.inspect(args.sign)
        signer = libe2e.Signer.load(
            args.sign, getpass.getpass("passphrase: ") if encrypted else None)

    client = mqtt.Client()
    client.connect(args.host, args.port)
    client.loop_start()
    with libe2e.Sender(keyring, signer) as sender:
        pub = libe2e.mqtt.Publisher(client, sender)
        for text in args.message:
            # Sealed for this topic, with the retained-intent bit = retain.
            pub.publish(args.topic, text.encode(), qos=1,
                        retain=args.retain).wait_for_publish()
    client.disconnect()
    client.loop_stop()
    if signer is not None:
        signer.close()
