// libe2e/mqtt: MQTT.js wrappers that seal on publish and open on 'message'.
import type { Guard, GuardOptions, Info, Keyring, Message, Payload, Rejected, Sender, Signer, Trust } from './index.js';

/** The part of an MQTT.js client (mqtt >= 5) the wrappers use. */
export interface MqttClientLike {
  publishAsync(topic: string, message: Uint8Array, opts?: object): Promise<unknown>;
  subscribeAsync(topic: string | string[], opts?: object): Promise<unknown>;
  on(event: 'message', cb: (topic: string, payload: Uint8Array, packet: MqttPacketLike) => void): unknown;
  removeListener(event: 'message', cb: (...args: any[]) => void): unknown;
}

export interface MqttPacketLike {
  retain?: boolean;
  dup?: boolean;
  qos?: number;
}

export interface PublisherOptions {
  /** null/absent: signature only (needs signer or a signing sender). */
  keyring?: Keyring | null;
  signer?: Signer;
  /** One Sender per publisher identity; default new Sender({signer}). */
  sender?: Sender;
}

export declare class E2EPublisher {
  constructor(client: MqttClientLike, opts?: PublisherOptions);
  readonly client: MqttClientLike;
  keyring: Keyring | null;
  readonly sender: Sender;
  /** Seal (retained intent exactly when options.retain) and publishAsync. */
  publish(topic: string, payload: Payload, options?: { qos?: 0 | 1 | 2; retain?: boolean; [k: string]: unknown }): Promise<unknown>;
}

/** Where the replay state lives: stateFile(path) from 'libe2e/node', or your own. */
export interface StateHooks {
  /** Replace the guard's state; false when there is none yet. */
  load(guard: Guard): boolean;
  save(guard: Guard): void;
}

export interface SubscriberOptions {
  keyring?: Keyring | null;
  trust?: Trust | null;
  requireEncryption?: boolean;
  requireSignature?: boolean;
  /** Subscriptions made elsewhere (a persistent session's), taken as subscribe() takes its own. */
  filters?: string | string[];
  /** A Guard, options for a new one (default: the defaults), or false: none. */
  guard?: Guard | GuardOptions | false;
  /** Loaded at once, saved at most once a second when changed and on close. */
  state?: StateHooks | null;
  onMessage?: (msg: Message, packet: MqttPacketLike) => void;
  onRejected?: (rejected: Rejected, packet: MqttPacketLike) => void;
  /** A QoS 1/2 redelivery (DUP) of a message already accepted: not a rejection. */
  onDuplicate?: (info: Info | null, packet: MqttPacketLike) => void;
  /** Errors that are not verdicts (a failed save, a misuse); default: throw. */
  onError?: (err: Error) => void;
}

export declare class E2ESubscriber {
  constructor(client: MqttClientLike, opts?: SubscriberOptions);
  readonly client: MqttClientLike;
  readonly guard: Guard | null;
  accepted: number;
  rejected: number;
  duplicates: number;
  /** The filters subscribed through this wrapper: other topics are not-subscribed. */
  readonly filters: string[];
  subscribe(filters: string | string[], options?: { qos?: 0 | 1 | 2; [k: string]: unknown }): Promise<unknown>;
  /** Save the state now if it changed. */
  flush(): void;
  /** Stop listening and save the state; the client stays open. */
  close(): void;
}
