// MQTT.js helpers: a publisher that seals on publish and a subscriber that
// opens on the client's 'message' events, as e2e-pub and e2e-sub do
// (cli/e2e-sub.c, cli/e2e-sub.1): only the subscribed filters are taken
// (not-subscribed), the broker's retain flag is the delivery's, a QoS 1/2
// redelivery (DUP) of a message already accepted is dropped and counted,
// not reported as a rejection, and the replay state is saved at most once a
// second when it changed, and on close. Browser-safe: the state file hooks
// for Node are stateFile() in 'libe2e/node'. The mqtt package is the
// caller's: these wrap a client it made (mqtt.connect()).
import { ERR, E2EError, Rejected, fail } from './errors.js';
import { Sender, Receiver } from './envelope.js';
import { Guard } from './guard.js';
import { filterCheck } from './topic.js';

const SAVE_INTERVAL_MS = 1000;

/**
 * Seals every payload it publishes. opts: {keyring (null: signature only),
 * signer, sender (a Sender; default: a new one, with the signer)}.
 */
export class E2EPublisher {
  constructor(client, opts = {}) {
    if (!client || typeof client.publish !== 'function') fail(ERR.INVAL, 'an MQTT.js client is needed');
    this.client = client;
    this.keyring = opts.keyring || null;
    this.sender = opts.sender || new Sender({ signer: opts.signer });
  }

  /**
   * Seal payload for topic (retained intent exactly when options.retain)
   * and publish the envelope with the client's publishAsync. Resolves as
   * MQTT.js does (the packet for QoS > 0).
   */
  publish(topic, payload, options = {}) {
    const env = this.sender.seal(this.keyring, topic, payload, { retained: Boolean(options.retain) });
    // MQTT.js writes any Uint8Array as the payload (mqtt-packet sizes a
    // non-Buffer with byteLength, which takes typed arrays).
    return this.client.publishAsync(topic, env, options);
  }
}

/**
 * Opens what the client receives. opts: the Receiver's (keyring, trust,
 * requireEncryption, requireSignature) plus guard (a Guard, or options for
 * a new one; false: no replay or freshness checks), state ({load(guard),
 * save(guard)}: load at once, save when changed; stateFile(path) from
 * 'libe2e/node' keeps e2e-sub's file), onMessage(msg, packet),
 * onRejected(rejected, packet), onDuplicate(info, packet), onError(err).
 * Counters: accepted, rejected, duplicates.
 */
export class E2ESubscriber {
  #listener;
  #timer = null;
  #dirty = false;

  constructor(client, opts = {}) {
    if (!client || typeof client.on !== 'function') fail(ERR.INVAL, 'an MQTT.js client is needed');
    this.client = client;
    let guard = null;
    if (opts.guard instanceof Guard) guard = opts.guard;
    else if (opts.guard !== false) guard = new Guard(opts.guard || {});
    this.guard = guard;
    this.receiver = new Receiver({
      keyring: opts.keyring, trust: opts.trust, requireEncryption: opts.requireEncryption,
      requireSignature: opts.requireSignature, guard, filters: opts.filters,
    });
    for (const flt of this.receiver.filters) filterCheck(flt);
    this.state = opts.state || null;
    if (this.state && !guard) fail(ERR.INVAL, 'state needs a guard');
    this.onMessage = opts.onMessage || (() => {});
    this.onRejected = opts.onRejected || (() => {});
    this.onDuplicate = opts.onDuplicate || (() => {});
    this.onError = opts.onError || ((e) => { throw e; });
    this.accepted = 0;
    this.rejected = 0;
    this.duplicates = 0;
    if (this.state) this.state.load(guard);
    this.#listener = (topic, payload, packet) => this.#deliver(topic, payload, packet);
    client.on('message', this.#listener);
    if (this.state) {
      this.#timer = setInterval(() => this.#save(), SAVE_INTERVAL_MS);
      if (typeof this.#timer.unref === 'function') this.#timer.unref();
    }
  }

  /** The filters subscribed through this wrapper: only those are taken. */
  get filters() { return this.receiver.filters.slice(); }

  /**
   * Subscribe (client.subscribeAsync) and take the filters, "$share/GROUP/"
   * ones included. A filter is taken before the SUBSCRIBE goes out, so
   * that nothing the broker sends for it is refused as not subscribed.
   */
  async subscribe(filters, options = {}) {
    const list = typeof filters === 'string' ? [filters] : Array.from(filters);
    for (const f of list) filterCheck(f);
    const added = list.filter((f) => !this.receiver.filters.includes(f));
    this.receiver.filters.push(...added);
    try {
      return await this.client.subscribeAsync(list, options);
    } catch (e) {
      this.receiver.filters = this.receiver.filters.filter((f) => !added.includes(f));
      throw e;
    }
  }

  #deliver(topic, payload, packet) {
    let msg;
    try {
      msg = this.receiver.open(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.length),
        { retained: Boolean(packet && packet.retain) });
    } catch (e) {
      if (!(e instanceof Rejected)) {
        this.onError(e);
        return;
      }
      if (e.code === ERR.REPLAY && packet && packet.dup) {
        // A QoS 1/2 redelivery of a message already delivered.
        this.duplicates++;
        this.onDuplicate(e.info, packet);
        return;
      }
      this.rejected++;
      this.onRejected(e, packet);
      return;
    }
    this.accepted++;
    if (this.guard) this.#dirty = true;
    this.onMessage(msg, packet);
  }

  #save() {
    if (!this.state || !this.#dirty) return;
    try {
      this.state.save(this.guard);
      this.#dirty = false;
    } catch (e) {
      this.onError(e instanceof E2EError ? e : new E2EError(ERR.IO, String(e && e.message)));
    }
  }

  /** Save the state now if it changed (e2e-sub's exit save). */
  flush() { this.#save(); }

  /** Stop listening and save the state; the client stays the caller's. */
  close() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.client.removeListener('message', this.#listener);
    this.#save();
  }
}
