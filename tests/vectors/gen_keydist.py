#!/usr/bin/python3
"""Generate the libe2e key-update v1 known-answer vectors (docs/KEYDIST.md).

An implementation of docs/KEYDIST.md written from the specification, sharing
no code with libe2e and not using libsodium: X25519 and Poly1305 come from
python3-cryptography, BLAKE2b from hashlib, and Salsa20, HSalsa20 and
XSalsa20 are written out here from Bernstein's Salsa20 specification and
"Extending the Salsa20 nonce" (checked below against the published NaCl
crypto_box test values). The envelope layer (a suite-none envelope signed by
the admin, docs/ENVELOPE.md) and its reference opener come from
gen_vectors.py, the envelope generator.

    /usr/bin/python3 tests/vectors/gen_keydist.py > tests/vectors/keydist-v1.json

Every input is fixed (keys, the ephemeral X25519 keys of the sealed boxes,
counters, times, topics), so the output is reproducible byte for byte. A
reference opener (section 7 of KEYDIST.md) opens every positive vector for
every recipient and must refuse every negative vector with the listed error,
or the script stops without output.
"""

import hashlib
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_vectors as env1  # noqa: E402  (the envelope v1 generator)

MAGIC = b"e2ku"
VERSION = 1
GROUP_MAX = 64
KEYS_MAX = 64
FILTERS_MAX = 4096
BOX_OVERHEAD = 48  # ephemeral public key 32 + Poly1305 tag 16
SLOT_KEY_BYTES = 36  # key id 4 + key 32
STATES = {"disabled": 0, "enabled": 1, "primary": 2}
SUITES = {"aead": 0, "mac": 1}
GROUP_CHARS = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  b"0123456789._-")

u16, u32, u64 = env1.u16, env1.u32, env1.u64

# --------------------------------------------------------------------------
# Salsa20 family (Bernstein, "Salsa20 specification"; "Extending the Salsa20
# nonce" for HSalsa20 / XSalsa20)
# --------------------------------------------------------------------------

SIGMA = b"expand 32-byte k"


def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _doubleround(x):
    def qr(a, b, c, d):
        x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
        x[c] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
        x[d] ^= _rotl((x[c] + x[b]) & 0xFFFFFFFF, 13)
        x[a] ^= _rotl((x[d] + x[c]) & 0xFFFFFFFF, 18)
    qr(0, 4, 8, 12)
    qr(5, 9, 13, 1)
    qr(10, 14, 2, 6)
    qr(15, 3, 7, 11)
    qr(0, 1, 2, 3)
    qr(5, 6, 7, 4)
    qr(10, 11, 8, 9)
    qr(15, 12, 13, 14)


def _state(key, in16):
    c = struct.unpack("<4I", SIGMA)
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", in16)
    return [c[0], k[0], k[1], k[2], k[3], c[1], n[0], n[1],
            n[2], n[3], c[2], k[4], k[5], k[6], k[7], c[3]]


def hsalsa20(key, in16):
    x = _state(key, in16)
    for _ in range(10):
        _doubleround(x)
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_stream(key, nonce8, length):
    out = bytearray()
    block = 0
    while len(out) < length:
        s = _state(key, nonce8 + struct.pack("<Q", block))
        x = list(s)
        for _ in range(10):
            _doubleround(x)
        out += struct.pack("<16I", *((x[i] + s[i]) & 0xFFFFFFFF
                                      for i in range(16)))
        block += 1
    return bytes(out[:length])


def xsalsa20poly1305(key, nonce24, msg):
    """NaCl crypto_secretbox: tag (16) || ciphertext."""
    sub = hsalsa20(key, nonce24[:16])
    stream = salsa20_stream(sub, nonce24[16:], 32 + len(msg))
    ct = bytes(a ^ b for a, b in zip(msg, stream[32:]))
    return poly1305.Poly1305.generate_tag(stream[:32], ct) + ct


def xsalsa20poly1305_open(key, nonce24, boxed):
    if len(boxed) < 16:
        return None
    sub = hsalsa20(key, nonce24[:16])
    stream = salsa20_stream(sub, nonce24[16:], 32 + len(boxed) - 16)
    try:
        poly1305.Poly1305.verify_tag(stream[:32], boxed[16:], boxed[:16])
    except InvalidSignature:
        return None
    return bytes(a ^ b for a, b in zip(boxed[16:], stream[32:]))


def x25519_public(sk):
    return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)


def box_key(sk, pk):
    """crypto_box_beforenm: HSalsa20(X25519(sk, pk), 0^16)."""
    shared = X25519PrivateKey.from_private_bytes(sk).exchange(
        X25519PublicKey.from_public_bytes(pk))
    return hsalsa20(shared, bytes(16))


def seal_box(esk, rpk, msg):
    """KEYDIST.md section 5: epk || crypto_box(msg, BLAKE2b-192(epk||rpk))."""
    epk = x25519_public(esk)
    nonce = hashlib.blake2b(epk + rpk, digest_size=24).digest()
    return epk + xsalsa20poly1305(box_key(esk, rpk), nonce, msg)


def open_box(rsk, box):
    if len(box) < BOX_OVERHEAD:
        return None
    epk, rpk = box[:32], x25519_public(rsk)
    nonce = hashlib.blake2b(epk + rpk, digest_size=24).digest()
    return xsalsa20poly1305_open(box_key(rsk, epk), nonce, box[32:])


def self_check():
    # NaCl's tests/box.c values (also RFC 7748 section 6.1): Alice's secret
    # key, Bob's public key, their crypto_box_beforenm key "firstkey".
    alice = bytes.fromhex("77076d0a7318a57d3c16c17251b26645"
                          "df4c2f87ebc0992ab177fba51db92c2a")
    bob_pk = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece43537"
                           "3f8343c85b78674dadfc7e146f882b4f")
    assert box_key(alice, bob_pk).hex() == (
        "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
    # Salsa20 specification, section 10 (Salsa20 expansion example 2 is
    # the core; here: the eSTREAM test vector set 1, vector 0, 256-bit key
    # 0x80 00.., IV 0: first 8 keystream bytes e3be8fdd8beca2e3).
    k = bytes([0x80]) + bytes(31)
    assert salsa20_stream(k, bytes(8), 8).hex() == "e3be8fdd8beca2e3"
    m = b"round trip"
    esk = bytes(range(32))
    assert open_box(alice, seal_box(esk, x25519_public(alice), m)) == m


# --------------------------------------------------------------------------
# The update body (KEYDIST.md section 4)
# --------------------------------------------------------------------------


def member_id(pk):
    return env1.signer_id(pk)


def build_body(group, counter, issued, keys, recipients):
    """keys: dicts id, suite, state, activates, disables, filters, key.
    recipients: dicts public_key, key_ids, ephemeral_secret."""
    g = group.encode()
    body = MAGIC + bytes([VERSION, len(g)]) + g + u64(counter) + u64(issued)
    body += bytes([len(keys)])
    for k in sorted(keys, key=lambda k: k["id"]):
        f = k["filters"].encode()
        body += u32(k["id"]) + bytes([SUITES[k["suite"]], STATES[k["state"]]])
        body += u64(k["activates"]) + u64(k["disables"]) + u16(len(f)) + f
    material = {k["id"]: k["key"] for k in keys}
    body += u16(len(recipients))
    for r in sorted(recipients, key=lambda r: member_id(r["public_key"])):
        ids = sorted(r["key_ids"])
        plain = b"".join(u32(i) + material[i] for i in ids)
        body += u64(member_id(r["public_key"])) + bytes([len(ids)])
        body += seal_box(r["ephemeral_secret"], r["public_key"], plain)
    return body


class BadUpdate(Exception):
    pass


def parse_body(b):
    """Section 4, every rule; raises BadUpdate."""
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(b):
            raise BadUpdate("truncated")
        pos += n
        return b[pos - n:pos]

    def num(n):
        return int.from_bytes(take(n), "big")

    if take(4) != MAGIC or num(1) != VERSION:
        raise BadUpdate("magic/version")
    glen = num(1)
    group = take(glen)
    if not 1 <= glen <= GROUP_MAX or not set(group) <= GROUP_CHARS:
        raise BadUpdate("group")
    counter, issued = num(8), num(8)
    if counter == 0:
        raise BadUpdate("counter 0")
    if issued >= 1 << 63:
        raise BadUpdate("time")
    nkeys = num(1)
    if not 1 <= nkeys <= KEYS_MAX:
        raise BadUpdate("key count")
    keys, last = [], 0
    for _ in range(nkeys):
        kid, suite, state = num(4), num(1), num(1)
        act, dis, flen = num(8), num(8), num(2)
        flt = take(flen)
        if kid <= last or suite > 1 or state > 2 or flen > FILTERS_MAX:
            raise BadUpdate("key entry")
        if act >= 1 << 63 or dis >= 1 << 63:
            raise BadUpdate("time")
        # Filters are bytes, compared with topics byte for byte as the
        # envelope's topic binding does; no text decoding is involved.
        flt = flt.decode("latin-1")
        if flt and any(not f or not filter_ok(f) for f in flt.split(",")):
            raise BadUpdate("filters")
        last = kid
        keys.append(dict(id=kid, suite=suite, state=state, activates=act,
                         disables=dis, filters=flt))
    # The primary keys of a scope (the same filters) take over in the order
    # of their activation times: two at the same time would leave the order
    # to the key ids.
    acts = [(k["filters"], k["activates"]) for k in keys if k["state"] == 2]
    if len(acts) != len(set(acts)):
        raise BadUpdate("primaries of a scope at the same time")
    nrcpt = num(2)
    slots, last = {}, -1
    for _ in range(nrcpt):
        mid, n = num(8), num(1)
        if mid <= last or n > nkeys:
            raise BadUpdate("slot")
        last = mid
        slots[mid] = (n, take(BOX_OVERHEAD + SLOT_KEY_BYTES * n))
    if pos != len(b):
        raise BadUpdate("trailing bytes")
    return dict(group=group.decode(), counter=counter, issued=issued,
                keys=keys, slots=slots)


def filter_ok(f):
    levels = f.split("/")
    for i, lv in enumerate(levels):
        if ("+" in lv and lv != "+") or ("#" in lv and lv != "#"):
            return False
        if lv == "#" and i != len(levels) - 1:
            return False
    return "\0" not in f


def open_update(o, env):
    """Section 7: returns ("ok", update, material) or (error, None, None)."""
    # Step 0: update topics never start with '$' (the admin is trusted on
    # every topic, as the MQTT filter "#", which does not match those).
    if o["topic"].startswith("$"):
        return "E2E_ERR_TOPIC", None, None
    # Step 1: an envelope that parses (ENVELOPE.md section 6 step 1) but is
    # not of suite none is not an update.
    if (len(env) >= 2 and env[0] == env1.MAGIC_V1 and not env[1] & 0xF0
            and env[1] & 0x03 in (0, 1)
            and len(env) >= env1.overhead(env[1] & 0x03, bool(env[1] & 4))):
        return "E2E_ERR_BAD_UPDATE", None, None
    rx = env1.receiver(signers=[{"public_key": o["admin_public_key"],
                                 "filters": o["topic"]}],
                       require_signature=True,
                       delivered_retained=o["delivered_retained"],
                       topic=o["topic"])
    rx["now"] = o["now"]
    res, body = env1.open_env(rx, env)
    if res != "ok":
        return res, None, None
    try:
        u = parse_body(body)
    except BadUpdate:
        return "E2E_ERR_BAD_UPDATE", None, None
    if u["group"] != o["group"]:
        return "E2E_ERR_WRONG_GROUP", None, None
    if u["counter"] < o["held_counter"]:
        return "E2E_ERR_ROLLBACK", None, None
    if u["counter"] == o["held_counter"]:
        return "E2E_ERR_REPLAY", None, None
    rsk = bytes.fromhex(o["member_secret_key"])
    mid = member_id(x25519_public(rsk))
    if mid not in u["slots"]:
        return "E2E_ERR_NOT_RECIPIENT", None, None
    n, box = u["slots"][mid]
    plain = open_box(rsk, box)
    if plain is None:
        return "E2E_ERR_BAD_SLOT", None, None
    table = {k["id"]: k for k in u["keys"]}
    material, last = {}, 0
    for i in range(n):
        kid = int.from_bytes(plain[36 * i:36 * i + 4], "big")
        if kid <= last or kid not in table or table[kid]["state"] == 0:
            return "E2E_ERR_BAD_SLOT", None, None
        last = kid
        material[kid] = plain[36 * i + 4:36 * i + 36]
    return "ok", u, material


# --------------------------------------------------------------------------
# Vectors
# --------------------------------------------------------------------------


def fixed(label, n=32):
    """Deterministic test bytes: BLAKE2b of a label (not a secret)."""
    return hashlib.blake2b(label.encode(), digest_size=n).digest()


ADMIN = env1.Signer(fixed("admin seed"))
OTHER_ADMIN = env1.Signer(fixed("someone else's seed"))
MEMBERS = {n: fixed("member %s secret" % n) for n in ("alice", "bob", "carol")}
PK = {n: x25519_public(sk) for n, sk in MEMBERS.items()}
GROUP = "plant-7"
ROOT = "e2e/keys/" + GROUP
ISSUED = 1767225600  # 2026-01-01T00:00:00Z
T = ISSUED + 86400   # the activation time of the new key

K_OLD = dict(id=0x1a2b3c4d, suite="aead", state="primary", activates=0,
             disables=T + 3600, filters="", key=fixed("key old"))
K_NEW = dict(id=0x5e6f7081, suite="aead", state="primary", activates=T,
             disables=0, filters="", key=fixed("key new"))
K_MAC = dict(id=0x00c0ffee, suite="mac", state="enabled", activates=0,
             disables=0, filters="plant-7/meters/#,plant-7/+/status",
             key=fixed("key mac"))
K_GONE = dict(id=0x7fffffff, suite="aead", state="disabled", activates=0,
              disables=0, filters="", key=None)


def rcpt(name, key_ids):
    return dict(public_key=PK[name], key_ids=key_ids,
                ephemeral_secret=fixed("ephemeral %s %d" % (name, len(key_ids))))


def member_topic(name):
    return "%s/%016x" % (ROOT, member_id(PK[name]))


def seal_update(body, topic, seq=0x0000000100000001, ts=ISSUED,
                signer=ADMIN, retained=True):
    return env1.seal("none", 0, None, signer, signer.id, seq, ts, retained,
                     topic, body, None)


def key_json(k):
    return dict(id="%08x" % k["id"], suite=k["suite"], state=k["state"],
                activates=k["activates"], disables=k["disables"],
                filters=k["filters"],
                key=None if k["key"] is None else k["key"].hex())


def rcpt_json(r):
    return dict(public_key=r["public_key"].hex(),
                member_id="%016x" % member_id(r["public_key"]),
                key_ids=["%08x" % i for i in sorted(r["key_ids"])],
                ephemeral_secret=r["ephemeral_secret"].hex())


def opener(name, topic, held=0, retained=True, group=GROUP):
    return dict(admin_public_key=ADMIN.pk.hex(), group=group,
                member_secret_key=MEMBERS[name].hex(), held_counter=held,
                topic=topic, delivered_retained=retained, now=ISSUED + 60)


def positive(name, description, topic, counter, keys, recipients, seq):
    body = build_body(GROUP, counter, ISSUED, keys, recipients)
    env = seal_update(body, topic, seq=seq)
    openers = []
    for r in recipients:
        who = [n for n, pk in PK.items() if pk == r["public_key"]][0]
        openers.append(dict(opener(who, topic),
                            expect_key_ids=["%08x" % i
                                            for i in sorted(r["key_ids"])]))
    return dict(name=name, description=description, group=GROUP,
                counter=counter, issued=ISSUED,
                admin_seed=ADMIN.seed.hex(),
                admin_public_key=ADMIN.pk.hex(),
                sender_id="%016x" % ADMIN.id, sequence="%016x" % seq,
                timestamp=ISSUED, retained=True, topic=topic,
                keys=[key_json(k) for k in sorted(keys, key=lambda k: k["id"])],
                recipients=[rcpt_json(r) for r in recipients],
                body=body.hex(), envelope=env.hex(), openers=openers)


def positives():
    rot = [K_OLD, K_NEW, K_GONE]
    return [
        positive("per_member_rotation",
                 "one member's update on its own topic: old key primary "
                 "until T and disabled an hour after, new key primary at T, "
                 "a third key disabled (no material)",
                 member_topic("alice"), 7, rot,
                 [rcpt("alice", [K_OLD["id"], K_NEW["id"]])],
                 0x0000000100000007),
        positive("per_group_three_members",
                 "one retained update for the whole group: alice and bob get "
                 "both aead keys, carol only the mac key with topic filters",
                 ROOT, 8, [K_OLD, K_NEW, K_MAC],
                 [rcpt("alice", [K_OLD["id"], K_NEW["id"]]),
                  rcpt("bob", [K_OLD["id"], K_NEW["id"]]),
                  rcpt("carol", [K_MAC["id"]])],
                 0x0000000100000008),
        positive("revocation_no_slot_for_carol",
                 "carol removed: a new key for alice and bob only, the old "
                 "one disabled at T",
                 ROOT, 9,
                 [dict(K_OLD, disables=T), K_NEW],
                 [rcpt("alice", [K_NEW["id"]]), rcpt("bob", [K_NEW["id"]])],
                 0x0000000100000009),
    ]


def negatives(pos):
    grp = [p for p in pos if p["name"] == "per_group_three_members"][0]
    genv, gbody = bytes.fromhex(grp["envelope"]), bytes.fromhex(grp["body"])
    mine = [p for p in pos if p["name"] == "per_member_rotation"][0]
    menv, mbody = bytes.fromhex(mine["envelope"]), bytes.fromhex(mine["body"])
    out = []

    def neg(name, description, env, o, error):
        out.append(dict(name=name, description=description, envelope=env.hex(),
                        opener=o, error=error,
                        reason=REASONS[error]))

    def resign(body, topic=ROOT, **kw):
        return seal_update(body, topic, **kw)

    a_grp = opener("alice", ROOT, held=7)
    a_mine = opener("alice", member_topic("alice"), held=6)
    neg("forged_other_signer", "the same body signed by a key that is not "
        "the admin's", resign(gbody, signer=OTHER_ADMIN), a_grp,
        "E2E_ERR_UNTRUSTED_SIGNER")
    neg("body_bit_flipped", "one bit of a key entry flipped",
        env1.flip(genv, 26 + 40), a_grp, "E2E_ERR_BAD_SIGNATURE")
    neg("truncated_last_slot", "the envelope cut short by one byte",
        genv[:-1], a_grp, "E2E_ERR_BAD_SIGNATURE")
    neg("slot_dropped", "the last recipient slot removed and the count "
        "fixed, not re-signed (a different key set)",
        genv[:26] + gbody[:-(8 + 1 + 48 + 36)] + genv[-64:], a_grp,
        "E2E_ERR_BAD_SIGNATURE")
    neg("moved_to_other_member", "bob's per-member update delivered on "
        "alice's topic",
        seal_update(mbody, member_topic("bob")),
        a_mine, "E2E_ERR_BAD_SIGNATURE")
    neg("replayed", "the update already applied (same counter)", genv,
        opener("alice", ROOT, held=8), "E2E_ERR_REPLAY")
    neg("rolled_back", "an older update (counter 8) after counter 9",
        genv, opener("alice", ROOT, held=9), "E2E_ERR_ROLLBACK")
    neg("wrong_group", "an admin-signed update of another group on this "
        "topic", resign(build_body("plant-8", 8, ISSUED, [K_OLD],
                                   [rcpt("alice", [K_OLD["id"]])])),
        a_grp, "E2E_ERR_WRONG_GROUP")
    neg("not_a_recipient", "carol is not in the revocation update",
        bytes.fromhex(pos[2]["envelope"]), opener("carol", ROOT, held=8),
        "E2E_ERR_NOT_RECIPIENT")
    # alice's slot sealed to bob's key: admin-signed, but alice cannot open
    # it.
    bad = build_body(GROUP, 8, ISSUED, [K_OLD],
                     [dict(rcpt("bob", [K_OLD["id"]]))])
    bob_mid, alice_mid = member_id(PK["bob"]), member_id(PK["alice"])
    bad = bad.replace(u64(bob_mid), u64(alice_mid))
    neg("slot_for_another_key", "alice's slot holds a box sealed to bob",
        resign(bad), a_grp, "E2E_ERR_BAD_SLOT")
    # a slot naming a key id that is not in the table
    odd = dict(K_NEW, id=K_OLD["id"] + 1)
    bad = build_body(GROUP, 8, ISSUED, [K_OLD, odd],
                     [rcpt("alice", [odd["id"]])])
    bad = bad.replace(u32(odd["id"]), u32(odd["id"] + 1), 1)
    neg("slot_key_not_in_table", "the box gives material for a key id the "
        "table does not list", resign(bad), a_grp, "E2E_ERR_BAD_SLOT")
    # a slot giving material for a disabled key
    bad = build_body(GROUP, 8, ISSUED, [K_OLD, dict(K_NEW, state="disabled")],
                     [rcpt("alice", [K_OLD["id"], K_NEW["id"]])])
    neg("slot_key_disabled", "the box gives material for a disabled key",
        resign(bad), a_grp, "E2E_ERR_BAD_SLOT")
    neg("trailing_byte", "an admin-signed body with one byte too many",
        resign(gbody + b"\0"), a_grp, "E2E_ERR_BAD_UPDATE")
    neg("bad_magic", "an admin-signed payload that is not an update",
        resign(b"E2KU" + gbody[4:]), a_grp, "E2E_ERR_BAD_UPDATE")
    bad = bytearray(gbody)
    bad[4 + 1 + 1 + len(GROUP) + 16 + 1 + 5] = 3  # first key's state
    neg("bad_state", "a key state of 3", resign(bytes(bad)), a_grp,
        "E2E_ERR_BAD_UPDATE")
    bad = build_body(GROUP, 8, ISSUED, [K_OLD, K_NEW],
                     [rcpt("alice", [K_OLD["id"]])])
    o = 4 + 1 + 1 + len(GROUP) + 16 + 1
    e = 4 + 1 + 1 + 8 + 8 + 2
    bad = bad[:o] + bad[o + e:o + 2 * e] + bad[o:o + e] + bad[o + 2 * e:]
    neg("keys_out_of_order", "key ids not in increasing order",
        resign(bad), a_grp, "E2E_ERR_BAD_UPDATE")
    bad = build_body(GROUP, 8, ISSUED, [K_OLD, dict(K_NEW, activates=0)],
                     [rcpt("alice", [K_OLD["id"], K_NEW["id"]])])
    neg("primaries_same_activation", "two primary keys with the same "
        "activation time (0)", resign(bad), a_grp, "E2E_ERR_BAD_UPDATE")
    bad = bytearray(build_body(GROUP, 0, ISSUED, [K_OLD],
                               [rcpt("alice", [K_OLD["id"]])]))
    neg("counter_zero", "update counter 0", resign(bytes(bad)), a_grp,
        "E2E_ERR_BAD_UPDATE")
    neg("not_retained", "sealed without retained intent, delivered as "
        "retained", resign(gbody, retained=False), a_grp,
        "E2E_ERR_NOT_RETAINED")
    mac = env1.seal("mac", 0x01020304, fixed("mac"), ADMIN, ADMIN.id, 1,
                    ISSUED, True, ROOT, gbody, None)
    neg("mac_suite", "an admin-signed mac envelope, not suite none", mac,
        a_grp, "E2E_ERR_BAD_UPDATE")
    neg("not_e2e", "a plain JSON payload on the update topic",
        b'{"keys":[]}', a_grp, "E2E_ERR_NOT_E2E")
    neg("dollar_topic", "a genuine update delivered on a topic starting "
        "with '$'", genv, dict(a_grp, topic="$" + ROOT), "E2E_ERR_TOPIC")
    return out


REASONS = {
    "E2E_ERR_NOT_E2E": "not-e2e",
    "E2E_ERR_TOPIC": "bad-topic",
    "E2E_ERR_UNTRUSTED_SIGNER": "untrusted-signer",
    "E2E_ERR_BAD_SIGNATURE": "bad-signature",
    "E2E_ERR_NOT_RETAINED": "not-retained",
    "E2E_ERR_REPLAY": "replay",
    "E2E_ERR_BAD_UPDATE": "bad-update",
    "E2E_ERR_WRONG_GROUP": "wrong-group",
    "E2E_ERR_ROLLBACK": "rollback",
    "E2E_ERR_NOT_RECIPIENT": "not-recipient",
    "E2E_ERR_BAD_SLOT": "bad-slot",
}


def check(pos, neg):
    for p in pos:
        env = bytes.fromhex(p["envelope"])
        for o in p["openers"]:
            res, u, mat = open_update(o, env)
            if res != "ok":
                sys.exit("gen_keydist: %s does not open: %s" % (p["name"], res))
            want = {int(k["id"], 16): k["key"] for k in p["keys"]}
            got = sorted("%08x" % i for i in mat)
            assert got == o["expect_key_ids"], p["name"]
            for i, m in mat.items():
                assert m.hex() == want[i], p["name"]
    for n in neg:
        res, _, _ = open_update(n["opener"], bytes.fromhex(n["envelope"]))
        if res != n["error"]:
            sys.exit("gen_keydist: %s gives %s, listed as %s"
                     % (n["name"], res, n["error"]))


def sizes():
    """Envelope bytes for the docs (section 4): 2 keys without filters."""
    def size(members, keys=2):
        return (4 + 1 + 1 + len(GROUP) + 16 + 1 + keys * 24 + 2 +
                members * (8 + 1 + BOX_OVERHEAD + SLOT_KEY_BYTES * keys) +
                env1.HEADER_BYTES + env1.SIG_BYTES)
    return {"%d members, per group" % m: size(m) for m in (1, 10, 10000)}


def main():
    self_check()
    pos = positives()
    neg = negatives(pos)
    names = [x["name"] for x in pos + neg]
    assert len(names) == len(set(names)), "duplicate vector names"
    check(pos, neg)
    if len(sys.argv) > 1 and sys.argv[1] == "--sizes":
        print(json.dumps(sizes(), indent=1))
        return
    doc = {
        "description": "libe2e key-update v1 known-answer vectors; see "
                       "tests/vectors/README.md for the schema and "
                       "docs/KEYDIST.md for the format",
        "version": 1,
        "generator": "tests/vectors/gen_keydist.py",
        "positive": pos,
        "negative": neg,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
