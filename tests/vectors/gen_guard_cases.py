#!/usr/bin/python3
"""Write tests/vectors/guard-cases.json: the replay guard's cases as data.

    gen_guard_cases.py > tests/vectors/guard-cases.json

Each case is one of the C unit tests of the replay guard
(tests/unit/test_guard.c, test_envelope_guard.c) whose checks can be written
as a sequence of steps on header fields, written here in the same order and
with the same names; tests/unit/test_guard_cases.c runs the file against the
C guard and bindings/js/test/guard-cases.test.js against the JavaScript one.
The rules are docs/ENVELOPE.md section 7 and docs/REPLAY-STATE.md.

Left out on purpose: which entry of a class an eviction takes (the C guard's
recency policy is an implementation choice, see REPLAY-STATE.md section 1),
so every eviction here has one candidate, or a verdict that is the same
whichever candidate goes; and tables of 100000 senders or thousands of
evictions (the C unit tests keep those).
The output is deterministic; check_guard_cases.sh (make check) compares it
with the committed file.
"""

import hashlib
import json
import sys

NOW = 1700000000
ALICE = 0xA11CE00000000001
BOB = 0xB0B0000000000002
CAROL = 0xCA40100000000003
DAVE = 0xDA7E000000000004
FLOOD = 0xF100D00000000000
MAX_SKEW = 30
MAX_AGE = 300


def epoch(e):
    return e << 32


class Case:
    def __init__(self, name, source, **opts):
        self.name = name
        self.source = source
        self.opts = opts
        self.steps = []

    def msg(self, op, sender, seq, ts, signed=False, retained=False,
            delivery="live", topic="t/live", now=NOW, expect="ok"):
        self.steps.append({
            "op": op, "sender": "%016x" % sender, "seq": "%016x" % seq,
            "ts": ts, "signed": signed, "retained": retained,
            "delivery": delivery, "topic": topic, "now": now,
            "expect": expect})

    def deliver(self, *a, **k):
        """check, and commit when accepted (what e2e_open does)"""
        self.msg("deliver", *a, **k)

    def check(self, *a, **k):
        """check only: changes nothing"""
        self.msg("check", *a, **k)

    def count(self, n):
        self.steps.append({"op": "count", "senders": n})

    def save_load(self, **opts):
        """save, then a new guard with opts (absent: the case's) loads it"""
        step = {"op": "save_load"}
        if opts:
            step["guard"] = opts
        self.steps.append(step)

    def load(self, text, expect="ok", line=0):
        """load a state file's text into the guard; on error it is unchanged"""
        self.steps.append({"op": "load", "text": text, "expect": expect,
                           "line": line})

    def json(self):
        return {"name": self.name, "source": self.source,
                "guard": self.opts, "steps": self.steps}


CASES = []


def case(name, source="test_guard.c", **opts):
    c = Case(name, source + ": " + name, **opts)
    CASES.append(c)
    return c


def checksummed(body):
    return body + "checksum " + hashlib.blake2b(
        body.encode("ascii"), digest_size=32).hexdigest() + "\n"


def window_cases():
    c = case("guard_accepts_first_contact_within_max_age")
    c.count(0)
    c.deliver(ALICE, 7, NOW - 300)
    c.count(1)

    c = case("guard_refuses_duplicate")
    c.deliver(ALICE, 1, NOW)
    c.deliver(ALICE, 1, NOW, expect="replay")
    c.deliver(BOB, 1, NOW)

    c = case("guard_accepts_reorder_inside_window_once_each")
    c.deliver(ALICE, 300, NOW)
    for s in range(299, 300 - 256, -1):
        c.deliver(ALICE, s, NOW)
    for s in range(300, 300 - 256, -1):
        c.deliver(ALICE, s, NOW, expect="replay")

    c = case("guard_refuses_sequence_below_window")
    c.deliver(ALICE, 1000, NOW)
    c.check(ALICE, 1000 - 256, NOW, expect="replay")
    c.check(ALICE, 3, NOW, expect="replay")
    c.deliver(ALICE, 1000 - 255, NOW)

    c = case("guard_window_slides_with_the_top")
    c.deliver(ALICE, 10, NOW)
    c.deliver(ALICE, 100, NOW)
    c.deliver(ALICE, 10, NOW, expect="replay")
    c.check(ALICE, 50, NOW)
    c.deliver(ALICE, 400, NOW)
    c.check(ALICE, 100, NOW, expect="replay")
    c.deliver(ALICE, 145, NOW)
    c.deliver(ALICE, 145, NOW, expect="replay")

    c = case("guard_accepts_new_epoch_and_resets_window")
    c.deliver(ALICE, epoch(1) | 5, NOW)
    c.deliver(ALICE, epoch(2) | 1, NOW)
    c.check(ALICE, epoch(1) | 6, NOW, expect="replay")
    c.deliver(ALICE, epoch(2) | 0, NOW)
    c.deliver(ALICE, epoch(2) | 1, NOW, expect="replay")
    c.deliver(ALICE, epoch(2) | 2, NOW)

    c = case("guard_handles_the_largest_sequence_number")
    m = (1 << 64) - 1
    c.deliver(ALICE, m - 1, NOW)
    c.deliver(ALICE, m, NOW)
    c.deliver(ALICE, m, NOW, expect="replay")
    c.deliver(ALICE, m - 1, NOW, expect="replay")
    c.deliver(ALICE, m - 2, NOW)

    # guard_works_with_windows_of_64_and_1024, for 64 and 192 (1024 is
    # the same steps, 2600 of them).
    for window in (64, 192):
        c = case("guard_works_with_window_%d" % window, window=window,
                 max_senders=16, max_retained_topics=16)
        top = 5 * window + 17
        c.deliver(ALICE, top, NOW)
        c.check(ALICE, top - window, NOW, expect="replay")
        for s in range(top - window + 1, top, 2):
            c.deliver(ALICE, s, NOW)
        for s in range(top - window + 1, top):
            c.deliver(ALICE, s, NOW, expect="replay"
                      if (top - s) % 2 == (window - 1) % 2 else "ok")
        for s in range(top - window + 1, top + 1):
            c.check(ALICE, s, NOW, expect="replay")
        c.deliver(ALICE, top + window // 2, NOW)
        c.check(ALICE, top, NOW, expect="replay")
        c.deliver(ALICE, top + 1, NOW)
        c.check(ALICE, top - window // 2 + 1, NOW, expect="replay")


def time_cases():
    c = case("guard_refuses_too_old")
    c.deliver(ALICE, 1, NOW - 301, expect="too-old")
    c.deliver(ALICE, 2, NOW - 300)
    c.deliver(ALICE, 3, NOW - 301, expect="too-old")

    c = case("guard_max_age_zero_disables_the_age_check", max_age=0)
    c.deliver(ALICE, 1, 1)

    c = case("guard_refuses_future")
    c.deliver(ALICE, 1, NOW + 31, expect="future")
    c.deliver(ALICE, 2, NOW + 30)

    c = case("guard_refuses_replay_before_looking_at_time")
    c.deliver(ALICE, 1, NOW)
    c.check(ALICE, 1, NOW - 1000, expect="replay")
    c.check(ALICE, 1, NOW + 1000, expect="replay")

    c = case("guard_refuses_clockless_first_contact")
    c.deliver(ALICE, 1, 0, expect="no-timestamp")
    c.count(0)

    c = case("guard_accepts_clockless_first_contact_when_asked",
             max_senders=16, max_retained_topics=16, accept_no_clock=True)
    c.deliver(ALICE, 1, 0)
    c.deliver(ALICE, 1, 0, expect="replay")
    c.deliver(ALICE, 2, 0)

    c = case("guard_accepts_clockless_message_of_known_sender")
    c.deliver(ALICE, 1, NOW)
    c.deliver(ALICE, 2, 0)
    c.deliver(ALICE, 2, 0, expect="replay")


def eviction_cases():
    # guard_evicts_least_recently_accepted_sender with one entry, so that
    # the eviction has a single candidate.
    c = case("guard_refuses_evicted_sender_up_to_its_last_timestamp",
             max_senders=1, max_retained_topics=16)
    c.deliver(BOB, 1, NOW - 10)
    c.deliver(CAROL, 1, NOW)
    c.count(1)
    c.check(CAROL, 1, NOW, expect="replay")
    c.check(BOB, 1, NOW - 10, expect="too-old")
    c.check(BOB, 0, NOW - 11, expect="too-old")
    c.check(BOB, 2, NOW - 9)
    c.deliver(DAVE, 1, NOW)

    c = case("guard_floor_covers_evicted_sender_after_it_returns",
             max_senders=1, max_retained_topics=16)
    c.deliver(BOB, 5, NOW - 10)
    c.deliver(BOB, 6, NOW - 9)
    c.deliver(ALICE, 1, NOW - 1)
    c.deliver(BOB, 10, NOW)
    c.check(BOB, 6, NOW - 9, expect="too-old")
    c.check(BOB, 5, NOW - 10, expect="too-old")
    c.deliver(BOB, 9, NOW - 1)

    # The first half of guard_check_does_not_change_state (the second
    # half is about which entry is evicted).
    c = case("guard_check_does_not_change_state", max_senders=2,
             max_retained_topics=16)
    c.check(ALICE, 1, NOW)
    c.check(ALICE, 1, NOW)
    c.count(0)
    for _ in range(2):
        c.check(ALICE, 1, NOW, retained=True, delivery="retained",
                topic="t/r")
    c.deliver(ALICE, 1, NOW)
    c.count(1)


def retained_cases():
    r = {"retained": True}
    rd = {"retained": True, "delivery": "retained", "topic": "t/r"}

    c = case("guard_refuses_retained_delivery_without_intent")
    c.check(ALICE, 1, NOW, delivery="retained", topic="t/r",
            expect="not-retained")

    c = case("guard_accepts_retained_older_than_max_age")
    c.deliver(ALICE, 1, NOW - 86400, **rd)
    c.deliver(ALICE, 2, NOW - 86400, topic="t/r", expect="too-old", **r)

    c = case("guard_refuses_retained_from_the_future")
    c.deliver(ALICE, 1, NOW + 31, expect="future", **rd)

    c = case("guard_refuses_duplicate_retained")
    c.deliver(ALICE, 1, NOW - 1000, **rd)
    c.deliver(ALICE, 1, NOW - 1000, expect="replay", **rd)
    c.deliver(ALICE, 2, NOW - 1000, retained=True, delivery="retained",
              topic="t/other")

    c = case("guard_refuses_retained_copy_of_live_message")
    c.deliver(ALICE, 1, NOW, topic="t/r", **r)
    c.deliver(ALICE, 1, NOW, expect="replay", **rd)

    c = case("guard_refuses_retained_with_older_timestamp")
    c.deliver(ALICE, 1, NOW - 100, **rd)
    c.deliver(BOB, 50, NOW - 101, expect="stale-retained", **rd)
    c.deliver(BOB, 50, NOW - 99, **rd)

    c = case("guard_does_not_compare_missing_timestamps", max_senders=16,
             max_retained_topics=16, accept_no_clock=True)
    c.deliver(ALICE, 1, NOW - 100, **rd)
    c.deliver(BOB, 1, 0, **rd)
    c.deliver(ALICE, 2, NOW - 100, **rd)

    c = case("guard_refuses_retained_with_lower_sequence", max_senders=16,
             max_retained_topics=16, accept_no_clock=True)
    c.deliver(ALICE, epoch(3) | 9, 0, **rd)
    c.deliver(ALICE, epoch(3) | 8, 0, expect="stale-retained", **rd)
    c.deliver(ALICE, epoch(2) | 100, 0, expect="stale-retained", **rd)
    c.deliver(BOB, 1, 0, **rd)

    c = case("guard_refuses_seen_retained_after_its_topic_was_evicted",
             max_senders=16, max_retained_topics=1)
    c.deliver(ALICE, 10, NOW - 1000, retained=True, delivery="retained",
              topic="t/r1")
    c.deliver(BOB, 1, NOW - 10, retained=True, delivery="retained",
              topic="t/r2")
    c.deliver(ALICE, 10, NOW - 1000, retained=True, delivery="retained",
              topic="t/r1", expect="replay")

    c = case("guard_retained_delivery_ignores_sender_window")
    c.deliver(ALICE, 5000, NOW)
    c.deliver(ALICE, 10, NOW - 1000, **rd)
    c.check(ALICE, 5000, NOW, expect="replay")
    c.check(ALICE, 5001, NOW)

    c = case("guard_retained_delivery_updates_sender_window")
    c.deliver(ALICE, 10, NOW - 1, **rd)
    c.deliver(ALICE, 10, NOW - 1, topic="t/r", expect="replay", **r)

    c = case("guard_live_message_does_not_roll_back_topic")
    c.deliver(ALICE, 2, NOW, topic="t/r", **r)
    c.deliver(BOB, 1, NOW - 5, topic="t/r", **r)
    c.deliver(BOB, 2, NOW - 5, expect="stale-retained", **rd)

    # guard_evicts_least_recently_updated_topic with one record.
    c = case("guard_retained_floor_covers_an_evicted_topic",
             max_senders=16, max_retained_topics=1)
    c.deliver(ALICE, 1, NOW - 100, retained=True, delivery="retained",
              topic="t/a")
    c.deliver(ALICE, 2, NOW - 50, retained=True, delivery="retained",
              topic="t/b")
    c.check(CAROL, 1, NOW - 200, retained=True, delivery="retained",
            topic="t/a", expect="stale-retained")
    c.check(CAROL, 2, NOW - 100, retained=True, delivery="retained",
            topic="t/a")
    c.check(CAROL, 1, NOW - 200, retained=True, delivery="retained",
            topic="t/b", expect="stale-retained")
    c.check(ALICE, 2, NOW - 50, retained=True, delivery="retained",
            topic="t/b", expect="replay")

    c = case("guard_retained_delivery_ignores_eviction_floor",
             max_senders=1, max_retained_topics=16)
    c.deliver(ALICE, 2, NOW - 10)
    c.deliver(BOB, 1, NOW)
    c.check(ALICE, 3, NOW - 20, expect="too-old")
    c.check(ALICE, 1, NOW - 20, **rd)

    c = case("guard_max_retained_age_refuses_older_retained",
             max_retained_age=3600, accept_no_clock=True)
    c.check(ALICE, 1, NOW - 3601, expect="too-old", **rd)
    c.check(ALICE, 1, NOW - 3600, **rd)
    c.check(ALICE, 1, 0, **rd)
    c.check(ALICE, 1, NOW - 200, topic="t/r", **r)

    c = case("guard_max_retained_age_is_off_by_default")
    c.check(ALICE, 1, NOW - 10 * 365 * 86400, **rd)

    c = case("retained_delivery_accepted_once", "test_envelope_guard.c")
    c.deliver(ALICE, 1, NOW - 3600, **rd)
    c.deliver(ALICE, 1, NOW - 3600, expect="replay", **rd)


def class_cases():
    s = {"signed": True}

    c = case("guard_floor_never_passes_the_receivers_clock", max_senders=8,
             max_retained_topics=16)
    for k in range(64):
        c.deliver(FLOOD + k, 1, NOW + MAX_SKEW)
    c.deliver(ALICE, 1, NOW + 1, now=NOW + 1)

    # 100 flooders rather than 1000: enough to go round 8 entries 12 times.
    c = case("guard_unsigned_flood_does_not_evict_a_signer", max_senders=8,
             max_retained_topics=16)
    c.deliver(ALICE, 1, NOW, **s)
    for k in range(100):
        c.deliver(FLOOD + k, 1, NOW + MAX_SKEW)
    c.check(ALICE, 1, NOW, expect="replay", **s)
    c.deliver(ALICE, 2, NOW, **s)

    c = case("guard_unsigned_flood_does_not_lock_out_a_new_signer",
             max_senders=8, max_retained_topics=16)
    for k in range(100):
        c.deliver(FLOOD + k, 1, NOW + MAX_SKEW)
    c.deliver(BOB, epoch(3) | 1, NOW - 5, **s)

    # guard_signers_beyond_their_share_evict_each_other with a share of
    # one signer, so that the signer evicted is the only one.
    c = case("guard_signers_beyond_their_share_evict_each_other",
             max_senders=2, max_retained_topics=16)
    c.deliver(FLOOD, 1, NOW)
    c.deliver(ALICE, 1, NOW - 30, **s)
    c.deliver(BOB, 1, NOW - 20, **s)
    c.check(FLOOD, 1, NOW, expect="replay")
    c.check(ALICE, 2, NOW - 30, expect="too-old", **s)
    c.check(ALICE, 1, NOW, expect="replay", **s)
    c.check(ALICE, 2, NOW - 29, **s)

    # With an unsigned sender in the other entry, so that each signer
    # evicts the only other signer (as in test_guard.c under LRU).
    c = case("guard_refuses_clockless_signer_replay_after_eviction",
             max_senders=2, max_retained_topics=16, accept_no_clock=True)
    c.deliver(FLOOD, 1, NOW)
    for n in range(1, 6):
        c.deliver(ALICE, epoch(1) | n, 0, **s)
    c.deliver(BOB, 1, 0, **s)
    c.deliver(CAROL, 1, 0, **s)
    c.check(ALICE, epoch(1) | 3, 0, expect="replay", **s)
    c.check(ALICE, epoch(1) | 5, 0, expect="replay", **s)
    c.deliver(ALICE, epoch(1) | 7, 0, **s)
    c.check(ALICE, epoch(1) | 4, 0, expect="replay", **s)
    c.deliver(ALICE, epoch(1) | 6, 0, **s)

    # Marks for at most 3 signers, one entry for signers: each signer
    # evicts the previous one, and the fourth evicted (4) finds no room.
    c = case("guard_refuses_unmarked_clockless_signer_once_marks_are_lost",
             max_senders=3, max_retained_topics=16, accept_no_clock=True)
    c.deliver(FLOOD, 1, NOW)
    c.deliver(FLOOD + 1, 1, NOW)
    for i in range(1, 6):
        c.deliver(i, 1, 0, **s)
    c.check(4, 1, 0, expect="no-timestamp", **s)
    c.check(7, 1, 0, expect="no-timestamp", **s)
    c.check(1, 2, 0, **s)
    c.check(3, 1, 0, expect="replay", **s)
    c.check(7, 1, NOW, **s)
    c.check(8, 1, 0)

    for signed in (True, False):
        name = ("guard_refuses_retained_rollback_after_topic_flood" if signed
                else "guard_unsigned_topic_flood_keeps_signed_records")
        c = case(name, max_senders=16, max_retained_topics=8)
        c.deliver(ALICE, epoch(2) | 1, NOW - 3600, signed=True,
                  retained=True, delivery="retained", topic="a/x")
        for n in range(1, 21):
            c.deliver(BOB, n, NOW, signed=signed, retained=True,
                      topic="b/%d" % n)
        if signed:
            # Stale whether a/x's record is still there or evicted.
            c.check(ALICE, epoch(1) | 1, NOW - 86400, signed=True,
                    retained=True, delivery="retained", topic="a/x",
                    expect="stale-retained")
        else:
            c.check(ALICE, epoch(2), NOW - 3600, signed=True, retained=True,
                    delivery="retained", topic="a/x",
                    expect="stale-retained")
            c.check(CAROL, 1, NOW - 7200, signed=True, retained=True,
                    delivery="retained", topic="c/y")

    c = case("guard_retained_record_never_passes_the_receivers_clock")
    c.deliver(BOB, 1, NOW + MAX_SKEW, retained=True, topic="t/r")
    c.deliver(ALICE, 1, NOW + 1, retained=True, delivery="retained",
              topic="t/r", now=NOW + 1)


HEAD = "# state\nlibe2e-replay-state 1\nwindow 64\nfloor 5\n"
S_A = "s a11ce00000000001 0000000000000064 1700000000 0 8000000000000001\n"
S_B = "s b0b0000000000002 0000000000000001 1700000000 0 0000000000000001\n"
T_X = ("t 000102030405060708090a0b0c0d0e0f a11ce00000000001 "
       "0000000000000064 1700000000\n")
T = 2000


def populate(c, window):
    """A window with holes, both floors (from a loaded file), a signer's
    mark, a retained topic; every sender fits (no eviction)."""
    c.load(checksummed(
        "# state\nlibe2e-replay-state 2\nwindow %d\nfloor %d\n"
        "signed-floor %d\nretained-floor 0\nsigned-retained-floor 0\n"
        "marks-lost 0\nmarks 1\nm %016x %016x\nsenders 0\nsigned-senders 0\n"
        "topics 0\nsigned-topics 0\n"
        % (window, NOW - 50, NOW - 40, DAVE, epoch(4) | 9)))
    c.deliver(ALICE, T, NOW - 3)
    c.deliver(ALICE, T - 2, NOW - 4)
    c.deliver(ALICE, T + 1 - window, NOW - 4)
    c.deliver(BOB, epoch(9) | 1, NOW - 2)
    c.deliver(CAROL, 7, NOW - 5000, retained=True, delivery="retained",
              topic="home/door")
    c.deliver(DAVE, epoch(5) | 1, NOW - 1, signed=True)


def populated_checks(c, window):
    c.count(4)
    c.check(ALICE, T, NOW, expect="replay")
    c.check(ALICE, T - 2, NOW, expect="replay")
    c.check(ALICE, T + 1 - window, NOW, expect="replay")
    c.check(ALICE, T - 1, NOW)
    c.check(ALICE, T + 2 - window, NOW)
    c.check(ALICE, T + 1, NOW)
    c.check(BOB, epoch(9) | 1, NOW, expect="replay")
    c.check(0x5EED, 1, NOW - 50, expect="too-old")
    c.check(0x5EED, 1, NOW - 49)
    c.check(0x5EED, 1, NOW - 40, signed=True, expect="too-old")
    c.check(0x5EED, 1, NOW - 39, signed=True)
    c.check(DAVE, epoch(5) | 1, NOW, signed=True, expect="replay")
    c.check(DAVE, epoch(5), NOW, signed=True)
    c.check(CAROL, 7, NOW - 5000, retained=True, delivery="retained",
            topic="home/door", expect="replay")
    c.check(CAROL, 6, NOW - 5000, retained=True, delivery="retained",
            topic="home/door", expect="stale-retained")


def state_cases():
    for window in (64, 256):
        c = case("guard_save_load_round_trip_window_%d" % window,
                 window=window, max_senders=8, max_retained_topics=8)
        populate(c, window)
        populated_checks(c, window)
        c.save_load()
        populated_checks(c, window)

    c = case("guard_load_across_window_sizes_widened", window=64,
             max_senders=8, max_retained_topics=8)
    populate(c, 64)
    c.save_load(window=1024, max_senders=8, max_retained_topics=8)
    populated_checks(c, 64)
    c.check(ALICE, T - 64, NOW, expect="replay")
    c.check(ALICE, T - 1023, NOW, expect="replay")

    c = case("guard_load_across_window_sizes_narrowed", window=1024,
             max_senders=8, max_retained_topics=8)
    populate(c, 1024)
    c.save_load(window=64, max_senders=8, max_retained_topics=8)
    c.check(ALICE, T, NOW, expect="replay")
    c.check(ALICE, T - 2, NOW, expect="replay")
    c.check(ALICE, T - 1, NOW)
    c.check(ALICE, T + 1 - 1024, NOW, expect="replay")
    c.check(ALICE, T - 64, NOW, expect="replay")
    c.check(ALICE, T - 63, NOW)

    s = {"signed": True}
    c = case("guard_save_load_keeps_classes_marks_and_floors",
             max_senders=2, max_retained_topics=4, accept_no_clock=True)
    c.deliver(FLOOD, 1, NOW)
    c.deliver(ALICE, epoch(1) | 9, 0, **s)
    c.deliver(BOB, 1, NOW, **s)
    c.deliver(BOB, 2, NOW - 60, signed=True, retained=True,
              delivery="retained", topic="t/r")
    c.deliver(CAROL, 1, NOW, **s)
    # bob's eviction raised the signed floor to NOW.
    c.deliver(DAVE, 1, NOW + 1, **s)
    c.save_load()
    c.check(ALICE, epoch(1) | 8, 0, expect="replay", **s)
    for n in range(1, 21):
        c.deliver(FLOOD + n, 1, NOW + n, retained=True, topic="u/%d" % n)
    c.check(DAVE, 1, NOW + 1, expect="replay", **s)
    c.check(BOB, 0, NOW - 120, signed=True, retained=True,
            delivery="retained", topic="t/r", expect="stale-retained")

    c = case("guard_loads_version_1_state_files", window=64, max_senders=4,
             max_retained_topics=4)
    c.load(checksummed("# state\nlibe2e-replay-state 1\nwindow 64\n"
                       "floor 1699999000\nsenders 1\n" + S_A + "topics 1\n"
                       + T_X))
    c.check(ALICE, 0x64, NOW, expect="replay")
    c.check(CAROL, 1, 1699999000, signed=True, now=1699999100,
            expect="too-old")
    c.check(CAROL, 1, 1699999001, signed=True, now=1699999100)

    # guard_load_points_at_the_bad_line and the other refusals, loaded
    # into a guard holding one sender that must survive every failure.
    c = case("guard_load_points_at_the_bad_line", max_senders=4,
             max_retained_topics=4)
    c.load(checksummed(HEAD + "senders 1\n" + S_A + "topics 1\n" + T_X))
    c.count(1)
    c.deliver(BOB, 42, NOW)
    bad = [
        ("# state\nlibe2e-replay-state 3\n", 2),
        ("state\nlibe2e-replay-state 1\n", 1),
        ("# state\nlibe2e-replay-state 1\nwindow 100\n", 3),
        ("# state\nlibe2e-replay-state 1\nwindow 064\n", 3),
        ("# state\nlibe2e-replay-state 1\nwindow 64\nfloor -1\n", 4),
        ("# state\nlibe2e-replay-state 1\nwindow 64\nfloor 4294967296\n", 4),
        (HEAD + "senders 2\n" + S_A + S_A + "topics 0\n", 7),
        (HEAD + "senders 2\n" + S_A + "topics 0\n", 7),
        (HEAD + "senders 1\n" + S_A + S_B + "topics 0\n", 7),
        (HEAD + "senders 1\n" + S_B + "topics 0\n", 6),
        (HEAD + "senders 1\n"
         "s A11CE00000000001 0000000000000064 1 0 8000000000000001\n"
         "topics 0\n", 6),
        (HEAD + "senders 1\n"
         "s a11ce00000000001 0000000000000064 1 0 80000000000001\n"
         "topics 0\n", 6),
        (HEAD + "senders 1\n"
         "s a11ce00000000001  0000000000000064 1 0 8000000000000001\n"
         "topics 0\n", 6),
        (HEAD + "senders 0\ntopics 2\n" + T_X + T_X, 8),
        (HEAD + "senders 0\ntopics 1\n"
         "t 000102030405060708090a0b0c0d0e a11ce00000000001 "
         "0000000000000064 1700000000\n", 7),
        (HEAD + "senders 0\ntopics 0\n\n", 7),
        (HEAD + "senders 0\r\ntopics 0\n", 5),
    ]
    for body, line in bad:
        c.load(checksummed(body), expect="state-corrupt", line=line)
    # guard_load_refuses_wrong_checksum, _trailing_data, _garbage,
    # _empty_file; a v2 file with a duplicate mark and an unknown class.
    c.load(HEAD + "senders 0\ntopics 0\nchecksum " + "0" * 64 + "\n",
           expect="state-corrupt", line=7)
    good = checksummed(HEAD + "senders 0\ntopics 0\n")
    c.load(good + "x\n", expect="state-corrupt", line=8)
    c.load(good[:-1], expect="state-corrupt", line=7)
    c.load("hello world\n", expect="state-corrupt", line=1)
    c.load("", expect="state-corrupt", line=0)
    v2 = ("# s\nlibe2e-replay-state 2\nwindow 64\nfloor 0\nsigned-floor 0\n"
          "retained-floor 0\nsigned-retained-floor 0\n")
    c.load(checksummed(v2 + "marks-lost 0\nmarks 2\nm %016x 0000000000000001\n"
                       "m %016x 0000000000000002\n" % (DAVE, DAVE)),
           expect="state-corrupt", line=11)
    c.load(checksummed(v2 + "marks-lost 0\nmarks 0\nsenders 0\ntopics 0\n"),
           expect="state-corrupt", line=11)
    # marks-lost is a flag (REPLAY-STATE.md section 2): 0 or 1.
    c.load(checksummed(v2 + "marks-lost 2\nmarks 0\nsenders 0\n"
                       "signed-senders 0\ntopics 0\nsigned-topics 0\n"),
           expect="state-corrupt", line=8)
    c.count(2)
    c.check(ALICE, 0x64, NOW, expect="replay")
    c.check(BOB, 42, NOW, expect="replay")
    c.check(BOB, 43, NOW)


def envelope_guard_cases():
    c = case("open_refuses_second_delivery_as_replay",
             "test_envelope_guard.c")
    c.deliver(ALICE, 0x0000000100000001, NOW - 1)
    c.deliver(ALICE, 0x0000000100000001, NOW - 1, expect="replay")

    c = case("open_accepts_reordering_inside_window", "test_envelope_guard.c")
    c.deliver(ALICE, 0x0000000100000002, NOW - 1)
    c.deliver(ALICE, 0x0000000100000001, NOW - 1)
    c.deliver(ALICE, 0x0000000100000001, NOW - 1, expect="replay")


def main():
    window_cases()
    time_cases()
    eviction_cases()
    retained_cases()
    class_cases()
    state_cases()
    envelope_guard_cases()
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "description": "Replay guard cases (docs/ENVELOPE.md section 7, "
                       "docs/REPLAY-STATE.md) as data, from the C unit tests; "
                       "see tests/vectors/README.md",
        "generator": "tests/vectors/gen_guard_cases.py",
        "version": 1,
        "defaults": {"window": 256, "max_senders": 4096,
                     "max_retained_topics": 4096, "max_age": MAX_AGE,
                     "max_skew": MAX_SKEW, "max_retained_age": 0,
                     "accept_no_clock": False},
        "cases": [c.json() for c in CASES],
    }
    # One step a line, so that a change reads as a diff.
    out = []
    for k, v in doc.items():
        if k != "cases":
            out.append("  %s: %s" % (json.dumps(k), json.dumps(v)))
    cases = []
    for c in doc["cases"]:
        steps = ",\n".join("      " + json.dumps(s) for s in c["steps"])
        cases.append('    {"name": %s,\n     "source": %s,\n     "guard": %s,\n'
                     '     "steps": [\n%s\n     ]}'
                     % (json.dumps(c["name"]), json.dumps(c["source"]),
                        json.dumps(c["guard"]), steps))
    out.append('  "cases": [\n%s\n  ]' % ",\n".join(cases))
    sys.stdout.write("{\n" + ",\n".join(out) + "\n}\n")


if __name__ == "__main__":
    main()
