/**
 * The key broker's keys: one file per sealed artifact in `<dir>/keys/<hex of plaintext digest>.json`
 * (mode 0600, directory 0700), holding the artifact key and the owner's release policy:
 *
 *   { "artifactDigest": "sha256:<hex>", "key": "<base64url, 32 bytes>", "policy": { …src/tee policy… }, "createdAt": "<RFC 3339>" }
 *
 * `tfaas deploy --encrypt --kbs-dir <dir>` writes them on the owner's machine and the broker reads
 * them on every request, so a new key or policy takes effect without a restart. Re-sealing the same
 * code makes a new key, which replaces the old one (the older ciphertext can no longer be opened).
 *
 * Guarantee stops here: the keys are plaintext on the owner's disk, protected by file modes only.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ARTIFACT_KEY_LENGTH } from "../confidential/index.js";
import { TfaasError } from "../shared/errors.js";
import { parsePolicy, type Policy, type PolicyInput } from "../tee/index.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

const entrySchema = z.object({
  artifactDigest: z.string().regex(DIGEST),
  key: z.string().regex(/^[A-Za-z0-9_-]+$/),
  policy: z.unknown().optional(),
  createdAt: z.string(),
});

export interface KeyEntry {
  artifactDigest: string;
  key: Uint8Array;
  /** Undefined when the file names none or an invalid one: the broker then denies (deny by default). */
  policy: Policy | undefined;
  /** Why the policy is unusable, when it is. */
  policyProblem?: string;
  createdAt: string;
}

export class KeyStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  #file(digest: string): string {
    if (!DIGEST.test(digest)) throw new TfaasError("invalid-request", `Cannot use artifact digest: current value is ${JSON.stringify(digest.slice(0, 80))}, expected sha256:<64 lowercase hex>`);
    return path.join(this.dir, "keys", `${digest.slice("sha256:".length)}.json`);
  }

  /** Stores (or replaces) the key and policy of an artifact, atomically. */
  async put(entry: { artifactDigest: string; key: Uint8Array; policy: PolicyInput }): Promise<void> {
    if (entry.key.length !== ARTIFACT_KEY_LENGTH) throw new TfaasError("invalid-request", `Cannot store artifact key: current length is ${entry.key.length}, expected ${ARTIFACT_KEY_LENGTH}`);
    parsePolicy(entry.policy);
    const file = this.#file(entry.artifactDigest);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const json = { artifactDigest: entry.artifactDigest, key: Buffer.from(entry.key).toString("base64url"), policy: entry.policy, createdAt: new Date().toISOString() };
    const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify(json, null, 2) + "\n", { mode: 0o600, flag: "wx" });
      await chmod(temporary, 0o600);
      await rename(temporary, file);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** Replaces only the policy of a stored key. */
  async setPolicy(digest: string, policy: PolicyInput): Promise<void> {
    const entry = await this.get(digest);
    if (entry === undefined) throw new TfaasError("not-found", `Cannot set policy: no key is stored for ${digest}`);
    await this.put({ artifactDigest: digest, key: entry.key, policy });
  }

  async get(digest: string): Promise<KeyEntry | undefined> {
    const file = this.#file(digest);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new TfaasError("internal", `Cannot read key file ${file}: current file is not readable`, { cause: error });
    }
    let parsed;
    try {
      parsed = entrySchema.safeParse(JSON.parse(text));
    } catch (cause) {
      throw new TfaasError("internal", `Cannot read key file ${file}: current content is not JSON`, { cause });
    }
    if (!parsed.success || parsed.data.artifactDigest !== digest) throw new TfaasError("internal", `Cannot read key file ${file}: current content is not a key entry for ${digest}`);
    const key = new Uint8Array(Buffer.from(parsed.data.key, "base64url"));
    if (key.length !== ARTIFACT_KEY_LENGTH) throw new TfaasError("internal", `Cannot read key file ${file}: current key length is ${key.length}, expected ${ARTIFACT_KEY_LENGTH}`);
    const base = { artifactDigest: digest, key, createdAt: parsed.data.createdAt };
    if (parsed.data.policy === undefined) return { ...base, policy: undefined, policyProblem: "the key file names no policy" };
    try {
      return { ...base, policy: parsePolicy(parsed.data.policy) };
    } catch (error) {
      return { ...base, policy: undefined, policyProblem: (error as Error).message };
    }
  }

  /** Digests with a stored key, sorted. */
  async list(): Promise<string[]> {
    try {
      const names = await readdir(path.join(this.dir, "keys"));
      return names.filter((name) => /^[0-9a-f]{64}\.json$/.test(name)).map((name) => `sha256:${name.slice(0, 64)}`).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
}
