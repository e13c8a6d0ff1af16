/**
 * The keys a worker decrypts Oblivious HTTP requests with, each with its own replay window, and
 * the ids of keys it has retired. The worker routes a `message/ohttp-req` here; the keyring picks
 * the key by the request's key id and tells apart a key it never held from one it has retired
 * (so a client can be told to fetch fresh key configurations).
 *
 * Key ids are one byte (RFC 9458), so ids are reused as keys rotate: adding a key under a retired
 * id makes that id live again. A request sealed to the old key under a reused id fails
 * authentication, never decrypts.
 */
import type { KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { HPKE_SUITE } from "./hpke.js";
import { encodeKeyConfigs, type OhttpKeyConfig } from "./key-config.js";
import { decapsulateRequest, readRequestHeader, type DecapsulatedRequest } from "./ohttp.js";
import { reject } from "./rejection.js";
import { checkReplayCapacity, DEFAULT_REPLAY_WINDOW, ReplayWindow } from "./replay-window.js";
import { expectX25519, generateX25519KeyPair, rawX25519PublicKey } from "./x25519.js";

interface HeldKey {
  privateKey: KeyObject;
  config: OhttpKeyConfig;
  replayWindow: ReplayWindow;
}

export interface OhttpKeyringOptions {
  /** Requests remembered per key for replay detection (default 65,536; see replay-window.ts). */
  replayWindow?: number;
}

export class OhttpKeyring {
  private readonly held = new Map<number, HeldKey>();
  private readonly retired = new Set<number>();
  private readonly replayCapacity: number;

  constructor(options: OhttpKeyringOptions = {}) {
    this.replayCapacity = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    checkReplayCapacity(this.replayCapacity);
  }

  /** Holds `privateKey` (X25519) under `keyId` and returns its configuration to publish. */
  add(keyId: number, privateKey: KeyObject): OhttpKeyConfig {
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > 255) throw new TfaasError("invalid-request", `Cannot add OHTTP key: key id is ${keyId}, expected 0–255`);
    if (this.held.has(keyId)) throw new TfaasError("conflict", `Cannot add OHTTP key: key id ${keyId} is already held; retire it first`);
    expectX25519(privateKey, "private", "OHTTP private key");
    const config: OhttpKeyConfig = { keyId, kemId: HPKE_SUITE.kemId, publicKey: rawX25519PublicKey(privateKey), suites: [{ kdfId: HPKE_SUITE.kdfId, aeadId: HPKE_SUITE.aeadId }] };
    this.held.set(keyId, { privateKey, config, replayWindow: new ReplayWindow(this.replayCapacity) });
    this.retired.delete(keyId);
    return config;
  }

  /** Generates a fresh key under `keyId`. */
  generate(keyId: number): OhttpKeyConfig {
    return this.add(keyId, generateX25519KeyPair().privateKey);
  }

  /** Drops the key and its replay window; later requests for it are refused as `retired-key`. */
  retire(keyId: number): void {
    if (!this.held.delete(keyId)) throw new TfaasError("not-found", `Cannot retire OHTTP key: key id ${keyId} is not held`);
    this.retired.add(keyId);
  }

  has(keyId: number): boolean {
    return this.held.has(keyId);
  }

  configs(): OhttpKeyConfig[] {
    return [...this.held.values()].map((key) => key.config);
  }

  /** The `application/ohttp-keys` body for the keys held now. */
  encodedConfigs(): Uint8Array<ArrayBuffer> {
    return encodeKeyConfigs(this.configs());
  }

  /** Decrypts a `message/ohttp-req` under whichever held key it names; see decapsulateRequest for refusals. */
  decapsulate(bytes: Uint8Array): DecapsulatedRequest {
    const { keyId } = readRequestHeader(bytes);
    const key = this.held.get(keyId);
    if (key === undefined) {
      if (this.retired.has(keyId)) throw reject("retired-key", `Cannot decapsulate OHTTP request: key id ${keyId} has been retired by this worker; fetch fresh key configurations`);
      throw reject("unknown-key", `Cannot decapsulate OHTTP request: key id ${keyId} is not held by this worker`);
    }
    return decapsulateRequest(key.privateKey, keyId, bytes, { publicKey: key.config.publicKey, replayWindow: key.replayWindow });
  }
}
