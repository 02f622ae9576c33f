#!/usr/bin/python3
"""Key rotation, step by step: add -> distribute -> promote -> disable -> delete.

Runs on its own (no broker): a publisher and a subscriber each load their
copy of a keyring file, as they would on two machines. Each step says what
it changes, the e2e-keygen command an operator would run, and what the
subscriber then accepts. Exits non-zero if anything behaves otherwise.
"""
import os
import shutil
import sys
import tempfile

import libe2e

TOPIC = "plant/line1/pressure"
work = tempfile.mkdtemp(prefix="e2e-rotation-")
pub_file = os.path.join(work, "publisher.keyring")
sub_file = os.path.join(work, "subscriber.keyring")
old_message = None


def step(title, command):
    print("\n== %s\n   $ %s" % (title, command))


def distribute():
    """Copy the publisher's keyring to the subscriber (scp, config mgmt...)."""
    shutil.copyfile(pub_file, sub_file)
    os.chmod(sub_file, 0o600)


def send_and_check(expect):
    """Seal one message now and one sealed before the rotation; open both
    at the subscriber and compare with what this step should give."""
    global old_message
    with libe2e.Keyring.load(pub_file) as kr, libe2e.Sender(kr) as sender:
        env = sender.seal(TOPIC, b"4.2 bar")
    old_message = old_message or env
    with libe2e.Keyring.load(sub_file) as kr:
        rx = libe2e.Receiver(kr)  # no guard: the same old message each step
        for label, e, want in (("new message", env, expect[0]),
                               ("old message", old_message, expect[1])):
            try:
                rx.open(TOPIC, e)
                got = "accepted"
            except libe2e.Rejected as err:
                got = "rejected: " + err.reason
            key = libe2e.parse(e).key_id
            print("   %-11s (key %08x) -> %s" % (label, key, got))
            if got != want:
                sys.exit("unexpected: wanted %s" % want)


try:
    step("1. a keyring with one primary key, on both sides",
         "e2e-keygen keyring init -K publisher.keyring")
    with libe2e.Keyring() as kr:
        k1 = kr.generate(libe2e.Suite.AEAD)
        kr.save(pub_file, exclusive=True)
    distribute()
    send_and_check(("accepted", "accepted"))

    step("2. add a new key, enabled but not primary, and distribute it",
         "e2e-keygen keyring add -K publisher.keyring")
    with libe2e.Keyring.load(pub_file) as kr:
        k2 = kr.generate(libe2e.Suite.AEAD, libe2e.KeyState.ENABLED)
        kr.save(pub_file)
    distribute()
    print("   every subscriber can now open messages under %08x" % k2)
    send_and_check(("accepted", "accepted"))

    step("3. promote the new key: publishers seal with it from now on",
         "e2e-keygen keyring promote -K publisher.keyring %08x" % k2)
    with libe2e.Keyring.load(pub_file) as kr:
        kr.promote(k2)
        kr.save(pub_file)
    distribute()
    send_and_check(("accepted", "accepted"))

    step("4. disable the old key once no message under it is in flight",
         "e2e-keygen keyring disable -K publisher.keyring %08x" % k1)
    with libe2e.Keyring.load(pub_file) as kr:
        kr.disable(k1)
        kr.save(pub_file)
    distribute()
    send_and_check(("accepted", "rejected: disabled-key"))

    step("5. delete the old key for good",
         "e2e-keygen keyring delete -K publisher.keyring %08x" % k1)
    with libe2e.Keyring.load(pub_file) as kr:
        kr.remove(k1)
        kr.save(pub_file)
        print("   keyring now: " + ", ".join(
            "%08x %s" % (k.id, k.state) for k in kr))
    distribute()
    send_and_check(("accepted", "rejected: unknown-key"))
    print("\nThe common case, steps 2+3 in one: e2e-keygen keyring rotate")
finally:
    shutil.rmtree(work)
