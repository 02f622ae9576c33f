// libe2e/node: key files on disk (Node only), with the C library's checks.
import type { Guard, Keyring, Passphrase, Signer, SignerSaveOptions, Trust } from './index.js';
import type { StateHooks } from './mqtt.js';

export interface SaveOptions {
  /** Create the file; ERR.EXISTS when it exists. Otherwise replace atomically. */
  exclusive?: boolean;
}

/** The bytes of a key file; secret: refuse group/other access (ERR.PERMISSIONS). */
export declare function readKeyFile(path: string, secret: boolean): Uint8Array;
export declare function writeKeyFile(path: string, text: string, mode: number, opts?: SaveOptions): void;
export declare function loadKeyring(path: string): Keyring;
export declare function loadSigner(path: string, passphrase?: Passphrase | null): Signer;
export declare function inspectSignerFile(path: string): {
  id: bigint; publicKey: Uint8Array; encrypted: boolean; opslimit?: number; memlimit?: number;
};
export declare function loadPublicKey(path: string): Uint8Array;
export declare function loadTrust(path: string): Trust;
export declare function saveKeyring(keyring: Keyring, path: string, opts?: SaveOptions): void;
export declare function saveSigner(signer: Signer, path: string, passphrase?: Passphrase | null,
  opts?: SignerSaveOptions & SaveOptions): void;
export declare function savePublicKey(publicKey: Uint8Array, path: string, opts?: SaveOptions): void;
export declare function saveTrust(trust: Trust, path: string, opts?: SaveOptions): void;
/** e2e_guard_load: ERR.IO (syscallCode 'ENOENT' when missing), ERR.WRITABLE, StateFileError(ERR.STATE_CORRUPT, line). */
export declare function loadGuard(guard: Guard, path: string, opts?: { now?: number }): void;
/** e2e_guard_save: atomically, mode 0600. */
export declare function saveGuard(guard: Guard, path: string): void;
/** e2e-sub --state for E2ESubscriber: a missing file is a first start. */
export declare function stateFile(path: string): StateHooks & { readonly path: string };
