#!/usr/bin/python3 -B
"""The C library's side of the JS interop tests, through the Python binding
(bindings/python, ctypes on the build tree's libe2e.so).

Reads one JSON request on stdin, writes one JSON answer on stdout. Byte
strings are hex; 64-bit integers are hex strings (JSON numbers would lose
precision in JavaScript). Requests ("op"):

  describe  {keyring?, trust?, pubkey?, signer?, passphrase?}: what the C
            loaders read from the files (keys without their material)
  seal      {keyring?, signer?, passphrase?, messages: [{topic, payload,
            retained}]}: envelopes sealed by one C Sender
  open      {keyring?, trust?, require_encryption, require_signature,
            filters, guard, messages: [{topic, envelope, retained}]}:
            [{payload, info}] or [{reason, error}] per message, one receiver
  save_signer {seed, path, passphrase?, opslimit, memlimit}
  guard     {options, load?, steps: [guard-cases.json deliver/check
            steps], save?}: the C guard (e2e_guard through the binding)
            with options (e2e_guard_opts names), a state file loaded
            first, the steps run, the state saved to save; answers
            {results: [reason per step]}
  mqtt_sub  {port, filters, keyring?, trust?, count, timeout, state?}:
            subscribe through mosquitto on 127.0.0.1:port with paho
            (python3-paho-mqtt) and libe2e.mqtt.Subscriber, a default
            guard (state: its state file); {ready} goes to stderr once
            subscribed; answers {accepted: [{topic, payload, retained,
            info}], rejected: [{topic, reason}]} after count accepted
            ones or timeout seconds
  keyring_build {keys: [{id, suite, state, created, key, activates,
            disables, filters}], save}: a keyring made by the C library
            (schedules and per-topic filters included), saved to save
  keyring_copy {keyring, save}: the C library loads a keyring and saves it
  build_update {group, counter, issued, keys: [{id, suite, state,
            activates, disables, filters, key (null: disabled)}],
            recipients: [{public_key, key_ids}], admin_seed, topic, seq,
            timestamp}: {body, envelope}, built by e2e_update_build and
            sealed retained, suite none, by the admin
  open_update {topic, envelope, admin_public_key, group, member_secret,
            last_counter, retained, keyring?, now, save?}: e2e_update_open
            then e2e_update_apply onto the keyring (or an empty one) at
            now; answers {reason, error}, or {counter, keys: [{id,
            in_slot}], keyring: [describe entries]} and the keyring saved
            to save when a key is not disabled
Exit status 0, or 2 with the error on stderr for a malformed request; a
load error is an answer {"load_error": name, "reason", "line"}.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "bindings", "python"))
import libe2e as e2e  # noqa: E402


def pw(req):
    p = req.get("passphrase")
    return None if p is None else p.encode("utf-8")


def load(req):
    out = {}
    if req.get("keyring"):
        out["keyring"] = e2e.Keyring.load(req["keyring"])
    if req.get("trust"):
        out["trust"] = e2e.Trust.load(req["trust"])
    if req.get("signer"):
        out["signer"] = e2e.Signer.load(req["signer"], pw(req))
    if req.get("pubkey"):
        out["pubkey"] = e2e.load_public_key(req["pubkey"])
    return out


def info_json(i):
    return {"suite": str(i.suite), "signed": i.signed, "retained": i.retained,
            "key_id": i.key_id, "sender_id": "%016x" % i.sender_id,
            "seq": "%016x" % i.seq, "timestamp": i.timestamp}


def keyring_entry(kr, k):
    """A key's stored state, schedule and filters (times as decimal
    strings: they may exceed 2^53)."""
    activates, disables = kr.get_schedule(k.id)
    return {"id": k.id, "suite": str(k.suite), "state": str(k.state),
            "created": str(k.created), "activates": str(activates),
            "disables": str(disables), "filters": ",".join(kr.filters(k.id))}


def describe(req, objs):
    out = {}
    if "keyring" in objs:
        out["keyring"] = [keyring_entry(objs["keyring"], k)
                          for k in objs["keyring"]]
    if "trust" in objs:
        out["trust"] = [{"public_key": t.public_key.hex(),
                         "filters": list(t.filters)} for t in objs["trust"]]
    if "signer" in objs:
        out["signer"] = {"id": "%016x" % objs["signer"].id,
                         "public_key": objs["signer"].public_key.hex()}
    if "pubkey" in objs:
        out["pubkey"] = objs["pubkey"].hex()
    return out


def seal(req, objs):
    sender = e2e.Sender(objs.get("keyring"), objs.get("signer"))
    return {"sender_id": "%016x" % sender.id, "envelopes": [
        sender.seal(m["topic"], bytes.fromhex(m["payload"]),
                    m.get("retained", False)).hex()
        for m in req["messages"]]}


def open_(req, objs):
    guard = e2e.Guard() if req.get("guard", True) else None
    r = e2e.Receiver(objs.get("keyring"), objs.get("trust"), guard,
                     require_encryption=req.get("require_encryption", False),
                     require_signature=req.get("require_signature", False),
                     filters=req.get("filters") or None)
    out = []
    for m in req["messages"]:
        try:
            msg = r.open(m["topic"], bytes.fromhex(m["envelope"]),
                         m.get("retained", False))
            out.append({"payload": msg.payload.hex(),
                        "info": info_json(msg.info)})
        except e2e.Rejected as err:
            out.append({"reason": err.reason, "error": err.name})
    return {"results": out}


def save_signer(req):
    s = e2e.Signer.from_seed(bytes.fromhex(req["seed"]))
    s.save(req["path"], pw(req), opslimit=req.get("opslimit", 0),
           memlimit=req.get("memlimit", 0))
    return {"id": "%016x" % s.id}


def guard(req):
    opts = dict(req.get("options", {}))
    g = e2e.Guard(**opts)
    if req.get("load"):
        g.load(req["load"])
    out = []
    for s in req["steps"]:
        info = e2e.Info(e2e.Suite.AEAD,
                        s["signed"], s["retained"], 1,
                        int(s["sender"], 16), int(s["seq"], 16), s["ts"], 0)
        retained = s["delivery"] == "retained"
        try:
            g.check(info, s["topic"], retained, s["now"])
            if s["op"] == "deliver":
                g.commit(info, s["topic"], retained, s["now"])
            out.append("ok")
        except e2e.Rejected as err:
            out.append(err.reason)
    if req.get("save"):
        g.save(req["save"])
    return {"results": out}


def mqtt_sub(req, objs):
    import threading
    import time

    import libe2e.mqtt
    import paho.mqtt.client as paho

    out = {"accepted": [], "rejected": []}
    done = threading.Event()
    subscribed = threading.Event()

    def accept(msg):
        out["accepted"].append({"topic": msg.topic,
                                "payload": msg.payload.hex(),
                                "retained": msg.retained,
                                "info": info_json(msg.info)})
        if len(out["accepted"]) >= req["count"]:
            done.set()

    def reject(err, m):
        out["rejected"].append({"topic": err.topic, "reason": err.reason})

    r = e2e.Receiver(objs.get("keyring"), objs.get("trust"), e2e.Guard())
    sub = libe2e.mqtt.Subscriber(r, accept, reject, state=req.get("state"))
    client = paho.Client(client_id="c-peer-%d" % os.getpid(),
                         clean_session=True)
    client.on_message = sub
    acks = []

    def on_subscribe(*a):
        acks.append(1)
        if len(acks) == len(req["filters"]):
            subscribed.set()

    client.on_subscribe = on_subscribe
    client.connect("127.0.0.1", req["port"])
    client.loop_start()
    for f in req["filters"]:
        sub.subscribe(client, f, qos=1)
    if subscribed.wait(10):
        sys.stderr.write("ready\n")
        sys.stderr.flush()
    deadline = time.monotonic() + req["timeout"]
    while not done.is_set() and time.monotonic() < deadline:
        done.wait(0.05)
    client.disconnect()
    client.loop_stop()
    sub.close()
    return out


def update_key(k):
    return e2e.UpdateKey(
        id=k["id"], suite=e2e.Suite[k["suite"].upper()],
        state=e2e.KeyState[k["state"].upper()], activates=k["activates"],
        disables=k["disables"], filters=k["filters"],
        key=bytes.fromhex(k["key"]) if k.get("key") else None)


def keyring_copy(req, objs):
    objs["keyring"].save(req["save"])
    return {}


def keyring_build(req):
    kr = e2e.Keyring()
    for k in req["keys"]:
        # Added enabled, scoped, then promoted within its scope (as the
        # keyring file loader does).
        kr.add(k["id"], bytes.fromhex(k["key"]), e2e.Suite[k["suite"].upper()],
               e2e.KeyState.ENABLED if k["state"] == "primary"
               else e2e.KeyState[k["state"].upper()], k["created"])
        kr.schedule(k["id"], k["activates"], k["disables"])
        kr.set_filters(k["id"], k["filters"])
        if k["state"] == "primary":
            kr.set_state(k["id"], e2e.KeyState.PRIMARY)
    kr.save(req["save"])
    return {}


def build_update(req):
    body = e2e.build_update(
        req["group"], req["counter"], req["issued"],
        [update_key(k) for k in req["keys"]],
        [(bytes.fromhex(r["public_key"]), r["key_ids"])
         for r in req["recipients"]])
    admin = e2e.Signer.from_seed(bytes.fromhex(req["admin_seed"]))
    env = e2e.seal_explicit(req["topic"], body, suite=e2e.Suite.NONE,
                            sender_id=admin.id, seq=req["seq"],
                            signer=admin, timestamp=req["timestamp"],
                            retained=True)
    return {"body": body.hex(), "envelope": env.hex()}


def open_update(req, objs):
    member = e2e.Member.from_secret(bytes.fromhex(req["member_secret"]))
    try:
        u = e2e.Update.open(
            req["topic"], bytes.fromhex(req["envelope"]),
            admin_public_key=bytes.fromhex(req["admin_public_key"]),
            group=req["group"], member=member,
            last_counter=req["last_counter"], retained=req["retained"])
    except e2e.E2EError as err:
        return {"reason": err.reason, "error": err.name}
    kr = objs.get("keyring") or e2e.Keyring()
    u.apply(kr, req["now"])
    out = {"counter": u.counter,
           "keys": [{"id": k.id, "in_slot": k.in_slot} for k in u.keys],
           "keyring": [keyring_entry(kr, k) for k in kr]}
    if req.get("save") and any(k.state != e2e.KeyState.DISABLED for k in kr):
        kr.save(req["save"])
    return out


def main():
    req = json.load(sys.stdin)
    op = req["op"]
    if op == "save_signer":
        ans = save_signer(req)
    elif op == "guard":
        ans = guard(req)
    elif op == "keyring_build":
        ans = keyring_build(req)
    elif op == "build_update":
        ans = build_update(req)
    else:
        try:
            objs = load(req)
        except e2e.E2EError as err:
            json.dump({"load_error": err.name, "reason": err.reason,
                       "line": getattr(err, "bad_line", None)}, sys.stdout)
            return 0
        ans = {"describe": describe, "seal": seal, "open": open_,
               "mqtt_sub": mqtt_sub, "open_update": open_update,
               "keyring_copy": keyring_copy}[op](
            req, objs)
    json.dump(ans, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
