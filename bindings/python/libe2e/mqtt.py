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

Subscribe through the Subscriber (``sub.subscribe(client, "sensors/#")``)
or give it ``filters=``, so that a message on a topic nobody subscribed to
is refused as "not-subscribed"; give it ``state=PATH`` so that a restarted
subscriber still refuses replays (see bindings/python/README.md, also
installed under /usr/local/share/doc/libe2e/ by default).

Publisher side::

    pub = libe2e.mqtt.Publisher(client, sender)
    pub.publish("sensors/1/temp", b"21.5", qos=1, retain=True)
    pub.publish("sensors/1/name", "Küche")    # a str: its UTF-8 bytes
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any, Callable, Literal, Optional

from .core import (ERRORS, Filters, Guard, Message, Payload, Receiver,
                   Rejected, Sender, StrPath, Topic, _Subscriptions, escape)

__all__ = ["Subscriber", "Publisher", "format_rejection"]

log = logging.getLogger("libe2e.mqtt")


def format_rejection(err: Rejected) -> str:
    """One line like e2e-sub's: 'rejected TOPIC: REASON: detail', the topic
    escaped (:func:`libe2e.escape`) so that a topic chosen by the broker
    cannot add lines or terminal controls to a log."""
    topic = getattr(err, "raw_topic", None)
    line = "rejected %s: %s: %s" % (
        escape(err.topic if topic is None else topic), err.reason,
        err.message)
    return line + " (%s)" % escape(err.detail) if err.detail else line


def _log_rejection(err: Rejected, mqtt_message: Any) -> None:
    log.warning("%s", format_rejection(err))


def _raw_topic(message: Any) -> bytes:
    """The topic's bytes as the broker sent them (paho 1.6 keeps them in
    ``_topic``; its ``topic`` property raises on bytes that are not
    UTF-8)."""
    raw = getattr(message, "_topic", None)
    if raw is None:
        raw = message.topic
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


class Subscriber:
    """A paho ``on_message`` callback that verifies every message.

    filters: the subscriptions (None: the receiver's ``filters``, plus
    those made with :meth:`subscribe`). state: a replay-state file, loaded
    now (when it exists) and saved atomically every ``save_interval``
    seconds while messages are accepted (0: after each one) and by
    :meth:`close`, as ``e2e-sub --state`` does; it needs a receiver with a
    guard.

    Counters: ``accepted``, ``rejected``, ``duplicates``, ``errors``. No
    exception leaves the callback, whatever the broker sends: paho 1.6
    re-raises one out of its network loop, which then delivers nothing
    more. Every bad delivery is a :class:`libe2e.Rejected` given to
    ``on_reject``; an exception raised by ``on_accept``, ``on_reject`` or
    ``on_duplicate`` (or by a misuse such as a closed keyring) is logged
    with its traceback on the "libe2e.mqtt" logger and counted in
    ``errors``, and the loop goes on.
    """

    def __init__(self, receiver: Receiver,
                 on_accept: Callable[[Message], Any],
                 on_reject: Optional[Callable[[Rejected, Any], Any]] = None,
                 on_duplicate: Optional[Callable[[Rejected, Any], Any]] = None,
                 *, filters: Filters = None, state: Optional[StrPath] = None,
                 save_interval: float = 1.0) -> None:
        self.receiver = receiver
        self.on_accept = on_accept
        self.on_reject = on_reject if on_reject is not None else \
            _log_rejection
        self.on_duplicate = on_duplicate
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0
        self.errors = 0
        self._subs = None if filters is None else _Subscriptions(filters)
        self._warned = False
        self._lock = threading.Lock()  # receiver and state file
        self._dirty = False
        self._closed = False
        self._stop = threading.Event()
        self._saver: Optional[threading.Thread] = None
        self.state = state
        self.save_interval = save_interval
        if state is None:
            return
        guard = receiver.guard
        if not isinstance(guard, Guard):
            # A shared guard (libe2e.redis) keeps its state in its store.
            raise ValueError("state needs a receiver with a guard in memory")
        if save_interval < 0:
            raise ValueError("save_interval must be >= 0")
        if os.path.lexists(state):  # else created by the first save
            guard.load(state)
        atexit.register(self.close)
        if save_interval > 0:
            self._saver = threading.Thread(target=self._save_loop,
                                           name="libe2e-state", daemon=True)
            self._saver.start()

    @property
    def filters(self) -> tuple[str | bytes, ...]:
        """The subscriptions checked (a tuple; empty: none checked)."""
        return self.receiver.filters if self._subs is None \
            else self._subs.filters

    def subscribe(self, client: Any, topic: Any, qos: int = 0,
                  **kwargs: Any) -> Any:
        """Add topic to the subscriptions checked, then
        ``client.subscribe(topic, qos, **kwargs)``; return paho's result.

        topic is what paho takes: a filter, a (filter, qos) tuple or a list
        of them. Call it again from ``on_connect`` after a reconnection: a
        filter already there is not added twice."""
        if isinstance(topic, (str, bytes)):
            names = [topic]
        elif isinstance(topic, tuple):
            names = [topic[0]]
        else:
            names = [t[0] for t in topic]
        filters = self.filters
        new = tuple(n for n in dict.fromkeys(names) if n not in filters)
        if new:
            self._subs = _Subscriptions(filters + new)
        return client.subscribe(topic, qos, **kwargs)

    def attach(self, client: Any) -> Subscriber:
        """Install as client.on_message; return self."""
        client.on_message = self
        return self

    def __call__(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            self._deliver(message)
        except Exception:
            self.errors += 1
            try:
                topic = escape(_raw_topic(message))
            except Exception:
                topic = "?"
            log.exception("message on %s dropped", topic)

    def _deliver(self, message: Any) -> None:
        if self._closed:
            raise RuntimeError("Subscriber is closed")
        raw = _raw_topic(message)
        try:
            topic = raw.decode("utf-8")
        except UnicodeDecodeError:
            # MQTT topics are UTF-8, and Message.topic is a str: a topic
            # that is not cannot be delivered faithfully.
            err = Rejected(ERRORS["E2E_ERR_TOPIC"],
                           raw.decode("utf-8", "replace"), None, raw,
                           "topic is not UTF-8")
            self._reject(err, message)
            return
        if self._subs is None and not self.receiver.filters and \
                not self._warned:
            self._warned = True
            log.warning("Subscriber has no filters: topics are not checked "
                        "against the subscriptions (see subscribe())")
        with self._lock:
            try:
                msg = self.receiver.open(topic, message.payload,
                                         retained=bool(message.retain),
                                         filters=self._subs)
            except Rejected as err:
                msg, rejected = None, err
            else:
                self.accepted += 1
                self._dirty = True
                if self.state is not None and self.save_interval == 0:
                    self._save_locked()
        if msg is not None:
            self.on_accept(msg)
        elif rejected.code == ERRORS["E2E_ERR_REPLAY"] and message.dup:
            self.duplicates += 1
            if self.on_duplicate is not None:
                self.on_duplicate(rejected, message)
        else:
            self._reject(rejected, message)

    def _reject(self, err: Rejected, message: Any) -> None:
        self.rejected += 1
        self.on_reject(err, message)

    # Replay state ----------------------------------------------------------

    def _save_locked(self) -> None:
        if self.state is None or not self._dirty:
            return
        guard = self.receiver.guard
        if not isinstance(guard, Guard):
            raise ValueError("the receiver has no guard in memory (closed?)")
        guard.save(self.state)
        self._dirty = False

    def save(self) -> None:
        """Save the replay state now if it changed (E2EError on failure)."""
        with self._lock:
            self._save_locked()

    def _save_loop(self) -> None:
        while not self._stop.wait(self.save_interval):
            try:
                self.save()
            except Exception:
                log.exception("cannot save the replay state to %s",
                              escape(os.fsencode(self.state or "")))

    def close(self) -> None:
        """Stop saving periodically and save the state a last time. Call it
        once the client's loop has stopped: later messages are dropped (and
        counted in ``errors``). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._saver is not None:
            self._saver.join()
        if self.state is not None:
            atexit.unregister(self.close)
            self.save()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False


class Publisher:
    """Seal with a :class:`libe2e.Sender`, then publish through paho.

    The retained-intent bit of the envelope follows ``retain``, as the
    receiver checks.
    """

    def __init__(self, client: Any, sender: Sender) -> None:
        self.client = client
        self.sender = sender

    def publish(self, topic: Topic, payload: Payload, qos: int = 0,
                retain: bool = False) -> Any:
        """Seal payload for topic and publish it; return paho's
        MQTTMessageInfo. payload is bytes, or a str sealed as its UTF-8
        bytes (as paho publishes a str)."""
        envelope = self.sender.seal(topic, payload, retained=retain)
        return self.client.publish(topic, envelope, qos=qos, retain=retain)
