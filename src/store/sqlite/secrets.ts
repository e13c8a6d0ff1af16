/** Secrets, sealed with AES-256-GCM before they reach the database; values are never logged. */
import type { Database } from "better-sqlite3";
import { TfaasError } from "../../shared/errors.js";
import type { SecretStore } from "../index.js";
import type { SecretCipher } from "../secret-cipher.js";
import type { Lifecycle } from "../lifecycle.js";

interface SecretParams {
  namespace: string;
  name: string;
  nonce: Buffer;
  sealed: Buffer;
}

export class SqliteSecretStore implements SecretStore {
  readonly #lifecycle: Lifecycle;
  readonly #cipher: SecretCipher;
  readonly #list;
  readonly #get;
  readonly #insert;
  readonly #update;
  readonly #delete;

  constructor(db: Database, cipher: SecretCipher, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    this.#cipher = cipher;
    this.#list = db.prepare<[string], string>("SELECT name FROM secrets WHERE namespace = ? ORDER BY name").pluck();
    this.#get = db.prepare<[string, string], { nonce: Buffer; sealed: Buffer }>(
      "SELECT nonce, sealed FROM secrets WHERE namespace = ? AND name = ?",
    );
    this.#insert = db.prepare<SecretParams>(
      "INSERT INTO secrets (namespace, name, nonce, sealed) VALUES (:namespace, :name, :nonce, :sealed) ON CONFLICT DO NOTHING",
    );
    this.#update = db.prepare<SecretParams>(
      "UPDATE secrets SET nonce = :nonce, sealed = :sealed WHERE namespace = :namespace AND name = :name",
    );
    this.#delete = db.prepare<[string, string]>("DELETE FROM secrets WHERE namespace = ? AND name = ?");
  }

  async list(namespace: string): Promise<string[]> {
    this.#lifecycle.assertOpen();
    return this.#list.all(namespace);
  }

  async create(name: string, namespace: string, value: Uint8Array): Promise<void> {
    this.#lifecycle.assertOpen();
    if (this.#insert.run(this.#seal(name, namespace, value)).changes === 0) {
      throw new TfaasError(
        "conflict",
        `Cannot create secret ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}: it already exists`,
      );
    }
  }

  async update(name: string, namespace: string, value: Uint8Array): Promise<void> {
    this.#lifecycle.assertOpen();
    if (this.#update.run(this.#seal(name, namespace, value)).changes === 0) {
      throw notFound("update", name, namespace);
    }
  }

  async remove(name: string, namespace: string): Promise<boolean> {
    this.#lifecycle.assertOpen();
    return this.#delete.run(namespace, name).changes > 0;
  }

  async values(names: readonly string[], namespace: string): Promise<Map<string, Uint8Array>> {
    this.#lifecycle.assertOpen();
    const values = new Map<string, Uint8Array>();
    try {
      for (const name of names) values.set(name, this.#open(name, namespace));
    } catch (error) {
      // All or nothing: plaintexts decrypted before the failure do not outlive it.
      for (const value of values.values()) value.fill(0);
      throw error;
    }
    return values;
  }

  #open(name: string, namespace: string): Uint8Array {
    const row = this.#get.get(namespace, name);
    if (row === undefined) throw notFound("read", name, namespace);
    try {
      return this.#cipher.open(namespace, name, row);
    } catch (cause) {
      throw new TfaasError(
        "internal",
        `Cannot decrypt secret ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)}: ` +
          "current ciphertext fails authentication (tampered with, moved from another row, or sealed under another key)",
        { cause },
      );
    }
  }

  #seal(name: string, namespace: string, value: Uint8Array): SecretParams {
    return { namespace, name, ...this.#cipher.seal(namespace, name, value) };
  }
}

function notFound(action: string, name: string, namespace: string): TfaasError {
  return new TfaasError(
    "secret-not-found",
    `Cannot ${action} secret ${JSON.stringify(name)}: it does not exist in namespace ${JSON.stringify(namespace)}`,
  );
}
