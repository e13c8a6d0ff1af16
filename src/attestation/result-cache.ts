/**
 * Attestation results a client keeps after `tfaas attest`: one short-lived JWT per verified worker
 * (src/crypto attestation results), signed by a verifier key that lives only on this client.
 *
 *   <dir>/verifier.key      Ed25519 private key, PKCS#8 PEM, mode 0600 (created on first use)
 *   <dir>/results.json      { "<gateway url>": ["<jwt>", …] }, mode 0600, newest last
 *
 * Guarantee stops here: the files are protected by their mode only; anyone who can act as this
 * user can replace the key and the results. A token records what this client concluded under the
 * policy it names; it does not re-check the worker.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { decodeJwt } from "jose";
import { verifyAttestationResult, type VerifiedAttestationResult } from "../crypto/index.js";
import { TfaasError } from "../shared/errors.js";

/** Kept per gateway, newest last; older ones fall off. */
const MAX_RESULTS_PER_GATEWAY = 1000;

export interface CachedResult extends VerifiedAttestationResult {
  token: string;
  /** False for a result past its expiry, accepted only as history (`at: "issued"`). */
  current: boolean;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

export class AttestationCache {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The client's verifier key, created (atomically, mode 0600) on first use. */
  async verifierKey(): Promise<KeyObject> {
    const file = path.join(this.#dir, "verifier.key");
    try {
      return createPrivateKey(await readFile(file));
    } catch (error) {
      if (code(error) !== "ENOENT") throw new TfaasError("internal", `Cannot read verifier key ${file}: current content is not usable`, { cause: error });
    }
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(temporary, generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
    try {
      await link(temporary, file);
    } catch (error) {
      // Another process created it first; theirs is the key.
      if (code(error) !== "EEXIST") throw error;
    } finally {
      await rm(temporary, { force: true });
    }
    return createPrivateKey(await readFile(file));
  }

  async #read(): Promise<Record<string, string[]>> {
    try {
      const json: unknown = JSON.parse(await readFile(path.join(this.#dir, "results.json"), "utf8"));
      if (typeof json !== "object" || json === null || Array.isArray(json)) return {};
      return Object.fromEntries(Object.entries(json).filter((entry): entry is [string, string[]] => Array.isArray(entry[1]) && entry[1].every((t) => typeof t === "string")));
    } catch (error) {
      if (code(error) === "ENOENT" || error instanceof SyntaxError) return {};
      throw error;
    }
  }

  /** Appends tokens for a gateway. */
  async save(gateway: string, tokens: readonly string[]): Promise<void> {
    const all = await this.#read();
    all[gateway] = [...(all[gateway] ?? []), ...tokens].slice(-MAX_RESULTS_PER_GATEWAY);
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.#dir, "results.json");
    const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(temporary, JSON.stringify(all, null, 2) + "\n", { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  }

  /**
   * Results for a gateway whose signature verifies under this client's key. `at: "now"` keeps only
   * unexpired ones; `at: "issued"` also accepts expired ones, each checked as of its own issue time
   * (for bills over past workers, whose keys can no longer be attested afresh).
   */
  async results(gateway: string, at: "now" | "issued", now: Date = new Date()): Promise<CachedResult[]> {
    const tokens = (await this.#read())[gateway] ?? [];
    if (tokens.length === 0) return [];
    const publicKey = createPublicKey(await this.verifierKey());
    const results: CachedResult[] = [];
    for (const token of tokens) {
      try {
        const verified = await verifyAttestationResult(token, publicKey, { now });
        results.push({ ...verified, token, current: true });
      } catch {
        if (at === "now") continue;
        try {
          const issuedAt = decodeJwt(token).iat;
          if (issuedAt === undefined) continue;
          const verified = await verifyAttestationResult(token, publicKey, { now: new Date(issuedAt * 1000) });
          results.push({ ...verified, token, current: false });
        } catch {
          // Altered, or signed by another key: not ours to trust.
        }
      }
    }
    return results;
  }
}
