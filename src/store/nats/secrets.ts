/**
 * Secrets in a KV bucket, sealed with AES-256-GCM (secret-cipher.ts) before they leave the
 * process: key `<namespace>.<name>`, value nonce (12 bytes) followed by ciphertext and tag.
 * NATS, its disks and its backups only ever hold ciphertext; the key stays with TFaaS (see
 * `secretKeyFile` in index.ts). Values are never logged or put into messages.
 */
import type { KV } from "@nats-io/kv";
import { TfaasError } from "../../shared/errors.js";
import type { SecretStore } from "../index.js";
import type { SecretCipher } from "../secret-cipher.js";
import { removeKey } from "./functions.js";
import type { Guard } from "./guard.js";
import { isWrongLastSequence, liveEntry, updateLive } from "./kv-util.js";
import { token, untoken } from "./keys.js";

const NONCE_BYTES = 12;

export class NatsSecretStore implements SecretStore {
  readonly #kv: KV;
  readonly #cipher: SecretCipher;
  readonly #guard: Guard;

  constructor(kv: KV, cipher: SecretCipher, guard: Guard) {
    this.#kv = kv;
    this.#cipher = cipher;
    this.#guard = guard;
  }

  list(namespace: string): Promise<string[]> {
    return this.#guard.run("list secrets", async () => {
      const names: string[] = [];
      const prefix = `${token(namespace)}.`;
      for await (const key of await this.#kv.keys(`${prefix}*`)) names.push(untoken(key.slice(prefix.length)));
      return names.sort();
    });
  }

  create(name: string, namespace: string, value: Uint8Array): Promise<void> {
    return this.#guard.run("create secret", async () => {
      try {
        await this.#kv.create(keyOf(name, namespace), this.#seal(name, namespace, value));
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        throw new TfaasError("conflict", `Cannot create secret ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}: it already exists`);
      }
    });
  }

  update(name: string, namespace: string, value: Uint8Array): Promise<void> {
    return this.#guard.run("update secret", async () => {
      await updateLive(this.#kv, keyOf(name, namespace), () => this.#seal(name, namespace, value), () => notFound("update", name, namespace));
    });
  }

  remove(name: string, namespace: string): Promise<boolean> {
    return this.#guard.run("remove secret", () => removeKey(this.#kv, keyOf(name, namespace)));
  }

  values(names: readonly string[], namespace: string): Promise<Map<string, Uint8Array>> {
    return this.#guard.run("read secrets", async () => {
      const entries = await Promise.all(names.map(async (name) => liveEntry(await this.#kv.get(keyOf(name, namespace)))));
      const values = new Map<string, Uint8Array>();
      try {
        names.forEach((name, i) => {
          const entry = entries[i];
          if (entry === undefined) throw notFound("read", name, namespace);
          values.set(name, this.#open(name, namespace, entry.value));
        });
      } catch (error) {
        // All or nothing: plaintexts decrypted before the failure do not outlive it.
        for (const value of values.values()) value.fill(0);
        throw error;
      }
      return values;
    });
  }

  #seal(name: string, namespace: string, value: Uint8Array): Uint8Array {
    const { nonce, sealed } = this.#cipher.seal(namespace, name, value);
    return Buffer.concat([nonce, sealed]);
  }

  #open(name: string, namespace: string, stored: Uint8Array): Uint8Array {
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    try {
      return this.#cipher.open(namespace, name, { nonce: bytes.subarray(0, NONCE_BYTES), sealed: bytes.subarray(NONCE_BYTES) });
    } catch (cause) {
      throw new TfaasError(
        "internal",
        `Cannot decrypt secret ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}: ` +
          "current ciphertext fails authentication (tampered with, moved from another key, or sealed under another secrets key)",
        { cause },
      );
    }
  }
}

function keyOf(name: string, namespace: string): string {
  return `${token(namespace)}.${token(name)}`;
}

function notFound(action: string, name: string, namespace: string): TfaasError {
  return new TfaasError("secret-not-found", `Cannot ${action} secret ${JSON.stringify(name)}: it does not exist in namespace ${JSON.stringify(namespace)}`);
}
