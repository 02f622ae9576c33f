#!/usr/bin/python3
"""Generate the libe2e envelope v1 known-answer vectors.

This is a second, independent implementation of docs/ENVELOPE.md, written
from the specification alone: it shares no code with libe2e and does not use
libsodium. It relies only on the Python standard library (BLAKE2b, HMAC,
SHA-256) and python3-cryptography (the RFC 8439 ChaCha20-Poly1305 AEAD and
Ed25519); HChaCha20, which turns the IETF AEAD into XChaCha20-Poly1305, is
written out here from draft-irtf-cfrg-xchacha-03 and checked against the
draft's own test vectors before anything is generated.

Every input is fixed, so the output is reproducible byte for byte:

    /usr/bin/python3 tests/vectors/gen_vectors.py > tests/vectors/envelope-v1.json

The script also contains a reference opener that follows the receiver
processing order of the specification (section 6, without replay state): every
positive vector must open to its payload and every negative vector must fail
with the error it is listed with, or the script stops without output.
"""

import hashlib
import hmac
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# --------------------------------------------------------------------------
# Constants of docs/ENVELOPE.md
# --------------------------------------------------------------------------

MAGIC_V1 = 0xFD
OTHER_VERSIONS = (0xFC, 0xFE)
SUITES = {"aead": 0, "mac": 1, "none": 2}
SUITE_NAMES = {v: k for k, v in SUITES.items()}
FLAG_SIGNED = 0x04
FLAG_RETAINED = 0x08
FLAG_RESERVED = 0xF0
HEADER_BYTES = 26
SALT_BYTES = 8
TAG_BYTES = 16
SIG_BYTES = 64
TOPIC_MAX = 4096
SIG_CONTEXT = b"libe2e-v1-sig"
# Section 7's defaults for a receiver that checks freshness.
MAX_AGE = 300
MAX_SKEW = 30

# Error names of e2e.h and their rejection tokens (ENVELOPE.md section 8).
REASONS = {
    "E2E_ERR_NOT_E2E": "not-e2e",
    "E2E_ERR_VERSION": "malformed",
    "E2E_ERR_RESERVED": "malformed",
    "E2E_ERR_MALFORMED": "malformed",
    "E2E_ERR_UNKNOWN_KEY": "unknown-key",
    "E2E_ERR_DISABLED_KEY": "disabled-key",
    "E2E_ERR_SUITE_MISMATCH": "suite-mismatch",
    "E2E_ERR_UNENCRYPTED": "unencrypted",
    "E2E_ERR_UNSIGNED": "unsigned",
    "E2E_ERR_UNTRUSTED_SIGNER": "untrusted-signer",
    "E2E_ERR_NOT_RETAINED": "not-retained",
    "E2E_ERR_TOO_OLD": "too-old",
    "E2E_ERR_FUTURE": "future",
    "E2E_ERR_NO_TIMESTAMP": "no-timestamp",
    "E2E_ERR_BAD_TAG": "bad-tag",
    "E2E_ERR_BAD_SIGNATURE": "bad-signature",
}


def u16(x):
    return struct.pack(">H", x)


def u32(x):
    return struct.pack(">I", x)


def u64(x):
    return struct.pack(">Q", x)


# --------------------------------------------------------------------------
# XChaCha20-Poly1305-IETF = HChaCha20 + RFC 8439 ChaCha20-Poly1305
# --------------------------------------------------------------------------

MASK32 = 0xFFFFFFFF


def _rotl32(v, c):
    return ((v << c) & MASK32) | (v >> (32 - c))


def _quarter_round(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & MASK32
    s[d] = _rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & MASK32
    s[b] = _rotl32(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    """draft-irtf-cfrg-xchacha-03 section 2.2: the ChaCha20 state set up
    with the key and the 16-byte nonce in place of counter and nonce, 20
    rounds, no final addition; the subkey is words 0-3 and 12-15."""
    assert len(key) == 32 and len(nonce16) == 16
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    state += list(struct.unpack("<8I", key))
    state += list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _quarter_round(state, 0, 4, 8, 12)
        _quarter_round(state, 1, 5, 9, 13)
        _quarter_round(state, 2, 6, 10, 14)
        _quarter_round(state, 3, 7, 11, 15)
        _quarter_round(state, 0, 5, 10, 15)
        _quarter_round(state, 1, 6, 11, 12)
        _quarter_round(state, 2, 7, 8, 13)
        _quarter_round(state, 3, 4, 9, 14)
    return struct.pack("<8I", *(state[0:4] + state[12:16]))


def _xchacha_ietf(key, nonce24):
    subkey = hchacha20(key, nonce24[0:16])
    return ChaCha20Poly1305(subkey), b"\x00\x00\x00\x00" + nonce24[16:24]


def xchacha20poly1305_encrypt(key, nonce24, ad, msg):
    aead, nonce12 = _xchacha_ietf(key, nonce24)
    return aead.encrypt(nonce12, msg, ad)


def xchacha20poly1305_decrypt(key, nonce24, ad, ct):
    """The plaintext, or None when the tag does not verify."""
    aead, nonce12 = _xchacha_ietf(key, nonce24)
    try:
        return aead.decrypt(nonce12, ct, ad)
    except InvalidTag:
        return None


def self_check():
    """The draft's own vectors: section 2.2.1 (HChaCha20) and appendix
    A.3.1 (AEAD_XChaCha20_Poly1305)."""
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a0000000031415927")
    want = bytes.fromhex(
        "82413b4227b27bfed30e42508a877d73"
        "a0f9e4d58a74a853c12ec41326d3ecdc"
    )
    if hchacha20(key, nonce) != want:
        sys.exit("gen_vectors: HChaCha20 self-check failed")

    msg = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you "
        b"only one tip for the future, sunscreen would be it."
    )
    ad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    key = bytes(range(0x80, 0xA0))
    nonce = bytes(range(0x40, 0x58))
    out = xchacha20poly1305_encrypt(key, nonce, ad, msg)
    if out[:16] != bytes.fromhex("bd6d179d3e83d43b9576579493c0e939") or out[
        -16:
    ] != bytes.fromhex("c0875924c1c7987947deafd8780acf49"):
        sys.exit("gen_vectors: XChaCha20-Poly1305 self-check failed")
    if xchacha20poly1305_decrypt(key, nonce, ad, out) != msg:
        sys.exit("gen_vectors: XChaCha20-Poly1305 round trip failed")


# --------------------------------------------------------------------------
# Signers
# --------------------------------------------------------------------------


class Signer:
    def __init__(self, seed):
        self.seed = seed
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.id = signer_id(self.pk)


def signer_id(pk):
    """Section 5: first 8 bytes of BLAKE2b-256(public key), big-endian."""
    return struct.unpack(">Q", hashlib.blake2b(pk, digest_size=32).digest()[:8])[0]


def sig_message(env_without_sig, t):
    digest = hashlib.blake2b(env_without_sig + u16(len(t)) + t, digest_size=64)
    return SIG_CONTEXT + digest.digest()


# --------------------------------------------------------------------------
# Sealing (sections 3-5)
# --------------------------------------------------------------------------


def topic_bytes(topic):
    t = topic.encode("utf-8")
    assert 1 <= len(t) <= TOPIC_MAX and "+" not in topic and "#" not in topic
    return t


def seal(suite, key_id, key, signer, sender_id, seq, timestamp, retained,
         topic, payload, salt):
    s = SUITES[suite]
    flags = s
    if signer is not None:
        flags |= FLAG_SIGNED
        assert sender_id == signer.id
    if retained:
        flags |= FLAG_RETAINED
    if s == SUITES["none"]:
        assert signer is not None and key_id == 0 and key is None
    header = bytes([MAGIC_V1, flags]) + u32(key_id) + u32(timestamp)
    header += u64(sender_id) + u64(seq)
    if s == SUITES["aead"]:
        assert len(salt) == SALT_BYTES
        header += salt
    t = topic_bytes(topic)
    ad = header + u16(len(t)) + t
    if s == SUITES["aead"]:
        env = header + xchacha20poly1305_encrypt(key, header[10:34], ad, payload)
    elif s == SUITES["mac"]:
        tag = hmac.new(key, ad + payload, hashlib.sha256).digest()[:TAG_BYTES]
        env = header + payload + tag
    else:
        env = header + payload
    if signer is not None:
        env += signer.sk.sign(sig_message(env, t))
    return env


# --------------------------------------------------------------------------
# Reference opener (section 6 without replay state, as e2e_open with no
# guard): returns ("ok", payload) or (error name, None).
# --------------------------------------------------------------------------


def topic_matches(flt, topic):
    """MQTT topic filter matching ('+' one level, '#' the rest)."""
    if topic.startswith("$") and flt[:1] in ("+", "#"):
        return False
    f, t = flt.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t):
            return False
        if level != "+" and level != t[i]:
            return False
    return len(f) == len(t)


def overhead(suite, signed):
    n = {0: HEADER_BYTES + SALT_BYTES + TAG_BYTES,
         1: HEADER_BYTES + TAG_BYTES,
         2: HEADER_BYTES}[suite]
    return n + (SIG_BYTES if signed else 0)


def check_time(rx, env):
    """Step 5 at a fresh receiver with the defaults of section 7 (no trust
    on first use for senders without a clock, eviction floor 0)."""
    ts = struct.unpack(">I", env[6:10])[0]
    if ts == 0:
        return "E2E_ERR_NO_TIMESTAMP"
    if not rx["delivered_retained"] and rx["now"] - ts > MAX_AGE:
        return "E2E_ERR_TOO_OLD"
    if ts - rx["now"] > MAX_SKEW:
        return "E2E_ERR_FUTURE"
    return None


def open_env(rx, env, freshness=False):
    """rx: the receiver of a vector (see README.md). freshness: also check
    timestamps (step 5) as a fresh receiver with the defaults would."""
    # 1. Parse.
    if len(env) < 1:
        return "E2E_ERR_MALFORMED", None
    if env[0] != MAGIC_V1:
        if env[0] in OTHER_VERSIONS:
            return "E2E_ERR_VERSION", None
        return "E2E_ERR_NOT_E2E", None
    if len(env) < 2:
        return "E2E_ERR_MALFORMED", None
    flags = env[1]
    if flags & FLAG_RESERVED:
        return "E2E_ERR_RESERVED", None
    suite = flags & 0x03
    signed = bool(flags & FLAG_SIGNED)
    if suite == 3:
        return "E2E_ERR_MALFORMED", None
    if len(env) < overhead(suite, signed):
        return "E2E_ERR_MALFORMED", None
    key_id = struct.unpack(">I", env[2:6])[0]
    if suite == SUITES["none"] and (not signed or key_id != 0):
        return "E2E_ERR_MALFORMED", None
    sender = struct.unpack(">Q", env[10:18])[0]
    hlen = HEADER_BYTES + (SALT_BYTES if suite == 0 else 0)
    t = rx["topic"].encode("utf-8")

    # 2. Key lookup.
    key = None
    if suite != SUITES["none"]:
        found = [k for k in rx["keys"] if int(k["key_id"], 16) == key_id]
        if not found:
            return "E2E_ERR_UNKNOWN_KEY", None
        k = found[0]
        if k["state"] == "disabled":
            return "E2E_ERR_DISABLED_KEY", None
        if SUITES[k["suite"]] != suite:
            return "E2E_ERR_SUITE_MISMATCH", None
        key = bytes.fromhex(k["key"])

    # 3. Policy.
    if rx["require_encryption"] and suite != SUITES["aead"]:
        return "E2E_ERR_UNENCRYPTED", None
    if rx["require_signature"] and not signed:
        return "E2E_ERR_UNSIGNED", None
    pk = None
    if signed:
        for s in rx["signers"]:
            cand = bytes.fromhex(s["public_key"])
            if signer_id(cand) == sender:
                if any(topic_matches(f, rx["topic"])
                       for f in s["filters"].split(",")):
                    pk = cand
                break
        if pk is None:
            return "E2E_ERR_UNTRUSTED_SIGNER", None
    if rx["delivered_retained"] and not flags & FLAG_RETAINED:
        return "E2E_ERR_NOT_RETAINED", None

    # 4. Replay: a fresh receiver has no replay state to refuse anything.
    # 5. Time, only when asked (see check_freshness in README.md).
    if freshness and check_time(rx, env):
        return check_time(rx, env), None

    # 6. Tag.
    end = len(env) - (SIG_BYTES if signed else 0)
    header = env[:hlen]
    ad = header + u16(len(t)) + t
    if suite == SUITES["aead"]:
        payload = xchacha20poly1305_decrypt(key, env[10:34], ad, env[hlen:end])
        if payload is None:
            return "E2E_ERR_BAD_TAG", None
    elif suite == SUITES["mac"]:
        payload = env[hlen:end - TAG_BYTES]
        tag = hmac.new(key, ad + payload, hashlib.sha256).digest()[:TAG_BYTES]
        if not hmac.compare_digest(tag, env[end - TAG_BYTES:end]):
            return "E2E_ERR_BAD_TAG", None
    else:
        payload = env[hlen:end]

    # 7. Signature.
    if signed:
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(
                env[end:], sig_message(env[:end], t))
        except InvalidSignature:
            return "E2E_ERR_BAD_SIGNATURE", None
    return "ok", payload


# --------------------------------------------------------------------------
# Fixed inputs
# --------------------------------------------------------------------------

KEY_AEAD = bytes(range(0x00, 0x20))
KEY_MAC = bytes(range(0x20, 0x40))
KEY_OTHER = bytes(range(0x40, 0x60))
KID_AEAD = 0x1A2B3C4D
KID_MAC = 0x5E6F7081
KID_SPARE = 0x0BADC0DE
SIGNER_A = Signer(bytes(range(0xA0, 0xC0)))
SIGNER_B = Signer(bytes(range(0xC0, 0xE0)))
SENDER = 0x0123456789ABCDEF
SEQ = 0x0000000000000001
SEQ_EPOCH = 0x6553F1000000002A  # epoch 0x6553f100 (a Unix time), counter 42
TS = 1700000000
NOW = 1700000005
SALT = bytes.fromhex("a1a2a3a4a5a6a7a8")
TOPIC = "sensors/kitchen/temp"
TOPIC_UTF8 = "maison/température/salon"
PAYLOAD_5000 = bytes((i * 131 + 7) & 0xFF for i in range(5000))

# mode name -> (suite, signed)
MODES = [
    ("aead", "aead", False),
    ("mac", "mac", False),
    ("aead_signed", "aead", True),
    ("mac_signed", "mac", True),
    ("none_signed", "none", True),
]


def key_entry(key_id, suite, state, key):
    return {"key_id": "%08x" % key_id, "suite": suite, "state": state,
            "key": key.hex()}


def signer_entry(signer, filters):
    return {"public_key": signer.pk.hex(), "filters": filters}


def receiver(keys=(), signers=(), require_encryption=False,
             require_signature=False, delivered_retained=False, topic=TOPIC):
    return {
        "keys": list(keys),
        "signers": list(signers),
        "require_encryption": require_encryption,
        "require_signature": require_signature,
        "delivered_retained": delivered_retained,
        "topic": topic,
        "now": NOW,
    }


def mode_inputs(suite, signed):
    """Key id, key and sender id for a mode."""
    signer = SIGNER_A if signed else None
    if suite == "aead":
        kid, key = KID_AEAD, KEY_AEAD
    elif suite == "mac":
        kid, key = KID_MAC, KEY_MAC
    else:
        kid, key = 0, None
    sender = signer.id if signer else SENDER
    return kid, key, signer, sender


def positive(name, description, suite, signed, payload, topic=TOPIC,
             retained=False, timestamp=TS, seq=SEQ, sender=None, key_id=None,
             salt=SALT):
    kid, key, signer, default_sender = mode_inputs(suite, signed)
    if key_id is not None:
        kid = key_id
    if sender is None:
        sender = default_sender
    salt = salt if suite == "aead" else None
    env = seal(suite, kid, key, signer, sender, seq, timestamp, retained,
               topic, payload, salt)
    keys = [key_entry(kid, suite, "primary", key)] if key else []
    signers = [signer_entry(signer, "#")] if signer else []
    rx = receiver(keys, signers, require_encryption=(suite == "aead"),
                  require_signature=signed, delivered_retained=retained,
                  topic=topic)
    return {
        "name": name,
        "description": description,
        "suite": suite,
        "signed": signed,
        "key_id": "%08x" % kid,
        "key": key.hex() if key else None,
        "signer_seed": signer.seed.hex() if signer else None,
        "signer_public_key": signer.pk.hex() if signer else None,
        "sender_id": "%016x" % sender,
        "sequence": "%016x" % seq,
        "timestamp": timestamp,
        "retained": retained,
        "topic": topic,
        "payload": payload.hex(),
        "salt": salt.hex() if salt else None,
        "envelope": env.hex(),
        "receiver": rx,
    }


def positives():
    out = []
    sizes = [("empty", b"", "an empty payload"),
             ("1byte", b"\x2a", "a 1-byte payload"),
             ("5000bytes", PAYLOAD_5000, "a 5000-byte payload")]
    for mode, suite, signed in MODES:
        for sname, payload, sdesc in sizes:
            out.append(positive("%s_%s" % (mode, sname),
                                "%s: %s" % (mode.replace("_", ", "), sdesc),
                                suite, signed, payload))
    for mode, suite, signed in MODES:
        out.append(positive(
            "%s_utf8_topic" % mode,
            "%s: a topic with non-ASCII UTF-8 characters (bound as its "
            "UTF-8 bytes)" % mode.replace("_", ", "),
            suite, signed, b'{"t":21.5}', topic=TOPIC_UTF8))
    out.append(positive("aead_retained", "aead: retained intent (flags 0x08)",
                        "aead", False, b"on", topic="home/lamp/state",
                        retained=True))
    out.append(positive("mac_signed_retained",
                        "mac, signed: retained intent (flags 0x0d)", "mac",
                        True, b"on", topic="home/lamp/state", retained=True))
    out.append(positive("none_signed_retained",
                        "none, signed: retained intent (flags 0x0e)", "none",
                        True, b"on", topic="home/lamp/state", retained=True))
    out.append(positive("aead_timestamp_0",
                        "aead: a sender without a clock (timestamp 0)",
                        "aead", False, b"\x00\x01\x02", timestamp=0))
    out.append(positive("mac_timestamp_0",
                        "mac: a sender without a clock (timestamp 0)",
                        "mac", False, b"\x00\x01\x02", timestamp=0))
    out.append(positive("aead_epoch_sequence",
                        "aead: sequence with a nonzero epoch (epoch "
                        "0x6553f100, counter 42)", "aead", False, b"hello",
                        seq=SEQ_EPOCH))
    out.append(positive("mac_signed_epoch_sequence",
                        "mac, signed: sequence with a nonzero epoch",
                        "mac", True, b"hello", seq=SEQ_EPOCH))
    out.append(positive("aead_extreme_fields",
                        "aead: every header integer at or near its maximum "
                        "(top bits set, catches signed-integer decoding)",
                        "aead", False, b"\xff" * 7, seq=0xFFFFFFFFFFFFFFFE,
                        timestamp=0xFFFFFFFF, sender=0xFEDCBA9876543210,
                        key_id=0xFFFFFFFF, salt=b"\xff" * 8))
    long_topic = ("abcdefg/" * 512)[:TOPIC_MAX - 1] + "z"
    assert len(long_topic.encode()) == TOPIC_MAX
    out.append(positive("aead_topic_4096_bytes",
                        "aead: a topic of exactly 4096 bytes (the v1 limit)",
                        "aead", False, b"x", topic=long_topic))
    out.append(positive("none_signed_topic_4096_bytes",
                        "none, signed: a topic of exactly 4096 bytes",
                        "none", True, b"x", topic=long_topic))
    return out


# --------------------------------------------------------------------------
# Negative vectors
# --------------------------------------------------------------------------


def flip(env, i, mask=0x01):
    b = bytearray(env)
    b[i] ^= mask
    return bytes(b)


def put(env, off, data):
    return env[:off] + data + env[off + len(data):]


def base(suite, signed, payload=b"21.5", topic=TOPIC, retained=False):
    kid, key, signer, sender = mode_inputs(suite, signed)
    salt = SALT if suite == "aead" else None
    return seal(suite, kid, key, signer, sender, SEQ, TS, retained, topic,
                payload, salt)


def rx_for(suite, signed, **kw):
    """The receiver that accepts base(suite, signed)."""
    kid, key, signer, _ = mode_inputs(suite, signed)
    keys = [key_entry(kid, suite, "enabled", key)] if key else []
    signers = [signer_entry(signer, "#")] if signer else []
    return receiver(keys, signers, **kw)


def negatives():
    v = []

    def neg(name, description, env, rx, error):
        v.append({"name": name, "description": description,
                  "envelope": env.hex(), "receiver": rx, "error": error,
                  "reason": REASONS[error]})

    aead, mac = base("aead", False), base("mac", False)
    aead_s, mac_s = base("aead", True), base("mac", True)
    none_s = base("none", True)

    # Every clear header field is authenticated.
    neg("flags_retained_bit_set",
        "the retained-intent bit set on an aead envelope sealed without it",
        put(aead, 1, b"\x08"), rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("flags_signed_bit_cleared_mac",
        "mac, signed: signed bit cleared, signature left in place (it is "
        "read as payload)", flip(mac_s, 1, FLAG_SIGNED), rx_for("mac", True),
        "E2E_ERR_BAD_TAG")
    rx = rx_for("aead", False)
    rx["keys"].append(key_entry(KID_SPARE, "aead", "enabled", KEY_AEAD))
    neg("key_id_altered",
        "key id changed to another id the receiver holds with the same key "
        "material: the key id is authenticated",
        put(aead, 2, u32(KID_SPARE)), rx, "E2E_ERR_BAD_TAG")
    neg("timestamp_altered", "timestamp + 1 (aead)",
        put(aead, 6, u32(TS + 1)), rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("timestamp_altered_mac", "timestamp set to 0 (mac)",
        put(mac, 6, u32(0)), rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("sender_id_altered", "last byte of the sender id flipped (mac)",
        flip(mac, 17), rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("sequence_altered", "sequence counter + 1 (aead)",
        put(aead, 18, u64(SEQ + 1)), rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("sequence_epoch_altered", "low bit of the epoch flipped (mac)",
        flip(mac, 21), rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("salt_altered", "first salt byte flipped (aead)", flip(aead, 26),
        rx_for("aead", False), "E2E_ERR_BAD_TAG")
    # Body, tag and length.
    neg("body_byte_flipped", "first ciphertext byte flipped (aead)",
        flip(aead, 34), rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("body_byte_flipped_mac", "first clear payload byte flipped (mac)",
        flip(mac, 26), rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("tag_flipped", "last tag byte flipped (aead)", flip(aead, len(aead) - 1),
        rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("tag_flipped_mac", "first tag byte flipped (mac)",
        flip(mac, len(mac) - 16), rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("truncated_by_one", "last byte removed (aead, 4-byte payload)",
        aead[:-1], rx_for("aead", False), "E2E_ERR_BAD_TAG")
    neg("truncated_by_one_signed",
        "last byte removed (aead, signed): the signature is read as the last "
        "64 bytes, so the tag no longer lines up", aead_s[:-1],
        rx_for("aead", True), "E2E_ERR_BAD_TAG")
    neg("extended_by_one", "one zero byte appended (mac)", mac + b"\x00",
        rx_for("mac", False), "E2E_ERR_BAD_TAG")
    neg("extended_by_one_signed", "one zero byte appended (none, signed)",
        none_s + b"\x00", rx_for("none", True), "E2E_ERR_BAD_SIGNATURE")
    neg("shorter_than_overhead",
        "an aead envelope of 49 bytes, one less than the aead overhead",
        base("aead", False, payload=b"")[:49], rx_for("aead", False),
        "E2E_ERR_MALFORMED")
    neg("header_only", "the first 26 bytes of a mac envelope",
        mac[:26], rx_for("mac", False), "E2E_ERR_MALFORMED")
    neg("empty", "an empty message", b"", rx_for("aead", False),
        "E2E_ERR_MALFORMED")
    neg("magic_only", "the single byte 0xfd", b"\xfd", rx_for("aead", False),
        "E2E_ERR_MALFORMED")
    # Topic binding.
    neg("moved_topic", "aead envelope received on another topic",
        aead, rx_for("aead", False, topic="sensors/kitchen/humidity"),
        "E2E_ERR_BAD_TAG")
    neg("moved_topic_mac", "mac envelope received on a topic differing "
        "only in case", mac, rx_for("mac", False, topic="Sensors/kitchen/temp"),
        "E2E_ERR_BAD_TAG")
    neg("moved_topic_signed_only",
        "none, signed: received on another topic the signer may use",
        none_s, rx_for("none", True, topic="sensors/garage/temp"),
        "E2E_ERR_BAD_SIGNATURE")
    # Keys.
    neg("wrong_key", "same key id, other key material (aead)", aead,
        receiver([key_entry(KID_AEAD, "aead", "enabled", KEY_OTHER)]),
        "E2E_ERR_BAD_TAG")
    neg("wrong_key_mac", "same key id, other key material (mac)", mac,
        receiver([key_entry(KID_MAC, "mac", "enabled", KEY_OTHER)]),
        "E2E_ERR_BAD_TAG")
    neg("suite_key_mismatch",
        "mac envelope whose key id names an aead key at the receiver", mac,
        receiver([key_entry(KID_MAC, "aead", "enabled", KEY_MAC)]),
        "E2E_ERR_SUITE_MISMATCH")
    neg("suite_key_mismatch_aead",
        "aead envelope whose key id names a mac key at the receiver", aead,
        receiver([key_entry(KID_AEAD, "mac", "enabled", KEY_AEAD)]),
        "E2E_ERR_SUITE_MISMATCH")
    neg("disabled_key", "the key id is known but disabled", aead,
        receiver([key_entry(KID_AEAD, "aead", "disabled", KEY_AEAD)]),
        "E2E_ERR_DISABLED_KEY")
    neg("unknown_key", "the key id is not in the keyring", aead,
        receiver([key_entry(KID_MAC, "mac", "enabled", KEY_MAC)]),
        "E2E_ERR_UNKNOWN_KEY")
    neg("unknown_key_empty_keyring", "an empty keyring", mac, receiver(),
        "E2E_ERR_UNKNOWN_KEY")
    # Signatures.
    stripped = put(aead_s[:-SIG_BYTES], 1, bytes([aead_s[1] & ~FLAG_SIGNED]))
    neg("signature_stripped_required",
        "aead, signed: signed bit cleared and the 64-byte signature removed, "
        "receiver requires signatures", stripped,
        rx_for("aead", True, require_signature=True), "E2E_ERR_UNSIGNED")
    neg("signature_stripped_not_required",
        "the same stripped envelope at a receiver that does not require "
        "signatures: the flags byte is authenticated", stripped,
        rx_for("aead", True), "E2E_ERR_BAD_TAG")
    other_sig = SIGNER_B.sk.sign(sig_message(mac_s[:-SIG_BYTES], TOPIC.encode()))
    rx = rx_for("mac", True)
    rx["signers"].append(signer_entry(SIGNER_B, "#"))
    neg("signature_swapped",
        "mac, signed by A: signature replaced by B's signature over the same "
        "bytes (both trusted)", mac_s[:-SIG_BYTES] + other_sig, rx,
        "E2E_ERR_BAD_SIGNATURE")
    rx = rx_for("none", True)
    rx["signers"].append(signer_entry(SIGNER_B, "#"))
    neg("signer_id_swapped",
        "none, signed by A: sender id replaced by trusted signer B's id",
        put(none_s, 10, u64(SIGNER_B.id)), rx, "E2E_ERR_BAD_SIGNATURE")
    neg("signature_byte_flipped", "first signature byte flipped (none)",
        flip(none_s, len(none_s) - 64), rx_for("none", True),
        "E2E_ERR_BAD_SIGNATURE")
    neg("untrusted_signer", "signed by A, only B is trusted", aead_s,
        receiver([key_entry(KID_AEAD, "aead", "enabled", KEY_AEAD)],
                 [signer_entry(SIGNER_B, "#")]), "E2E_ERR_UNTRUSTED_SIGNER")
    neg("untrusted_signer_empty_trust", "signed, no signer trusted", none_s,
        receiver(), "E2E_ERR_UNTRUSTED_SIGNER")
    neg("signer_not_allowed_on_topic",
        "signer A trusted only on other topics",
        none_s, receiver([], [signer_entry(SIGNER_A,
                                           "sensors/garage/#,alerts/+")]),
        "E2E_ERR_UNTRUSTED_SIGNER")
    # Header parsing.
    neg("reserved_bit_4", "flags bit 4 (0x10) set", flip(aead, 1, 0x10),
        rx_for("aead", False), "E2E_ERR_RESERVED")
    neg("reserved_bit_7", "flags bit 7 (0x80) set", flip(mac, 1, 0x80),
        rx_for("mac", False), "E2E_ERR_RESERVED")
    neg("suite_3", "suite 3 (reserved value) in the flags",
        put(mac, 1, b"\x03"), rx_for("mac", False), "E2E_ERR_MALFORMED")
    neg("none_not_signed", "suite none without the signed bit",
        put(none_s, 1, b"\x02")[:-SIG_BYTES], rx_for("none", True),
        "E2E_ERR_MALFORMED")
    neg("none_with_key_id", "suite none with a nonzero key id",
        put(none_s, 2, u32(KID_AEAD)), rx_for("none", True),
        "E2E_ERR_MALFORMED")
    neg("not_e2e_json", "a JSON payload, not an envelope", b'{"t":21.5}',
        rx_for("aead", False), "E2E_ERR_NOT_E2E")
    neg("not_e2e_magic", "first byte 0x00", put(aead, 0, b"\x00"),
        rx_for("aead", False), "E2E_ERR_NOT_E2E")
    neg("version_fe", "first byte 0xfe (a later version)",
        put(aead, 0, b"\xfe"), rx_for("aead", False), "E2E_ERR_VERSION")
    neg("version_fc", "first byte 0xfc (a later version)",
        put(mac, 0, b"\xfc"), rx_for("mac", False), "E2E_ERR_VERSION")
    # Receiver policy.
    neg("unencrypted_mac", "mac envelope, receiver requires encryption", mac,
        rx_for("mac", False, require_encryption=True), "E2E_ERR_UNENCRYPTED")
    neg("unencrypted_signed_only",
        "none, signed: receiver requires encryption", none_s,
        rx_for("none", True, require_encryption=True), "E2E_ERR_UNENCRYPTED")
    neg("unsigned_required", "unsigned aead envelope, receiver requires "
        "signatures", aead, rx_for("aead", False, require_signature=True),
        "E2E_ERR_UNSIGNED")
    neg("not_retained",
        "delivered with the MQTT retain flag, sealed without retained intent",
        aead, rx_for("aead", False, delivered_retained=True),
        "E2E_ERR_NOT_RETAINED")
    return v


# --------------------------------------------------------------------------


def mark_freshness(vec):
    """Say whether the vector's result holds at a receiver that checks
    freshness too, and if not, what that receiver gives instead."""
    env, rx = bytes.fromhex(vec["envelope"]), vec["receiver"]
    plain, _ = open_env(rx, env)
    fresh, _ = open_env(rx, env, freshness=True)
    rx["check_freshness"] = fresh == plain
    rx["freshness_error"] = None if fresh == plain else fresh


def main():
    self_check()
    pos, neg = positives(), negatives()
    for vec in pos + neg:
        mark_freshness(vec)
    names = [x["name"] for x in pos + neg]
    assert len(names) == len(set(names)), "duplicate vector names"
    for p in pos:
        env = bytes.fromhex(p["envelope"])
        # The overhead table of section 3.
        want = {("aead", False): 50, ("mac", False): 42, ("aead", True): 114,
                ("mac", True): 106, ("none", True): 90}[p["suite"], p["signed"]]
        assert len(env) == len(p["payload"]) // 2 + want, p["name"]
        res, payload = open_env(p["receiver"], env)
        if res != "ok" or payload != bytes.fromhex(p["payload"]):
            sys.exit("gen_vectors: %s does not open: %s" % (p["name"], res))
    for n in neg:
        res, _ = open_env(n["receiver"], bytes.fromhex(n["envelope"]))
        if res != n["error"]:
            sys.exit("gen_vectors: %s gives %s, listed as %s"
                     % (n["name"], res, n["error"]))
    doc = {
        "description": "libe2e envelope v1 known-answer vectors; see "
                       "tests/vectors/README.md for the schema and "
                       "docs/ENVELOPE.md for the format",
        "version": 1,
        "generator": "tests/vectors/gen_vectors.py",
        "positive": pos,
        "negative": neg,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
