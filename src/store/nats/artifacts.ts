/**
 * Artifacts: bytes in a JetStream Object Store (chunked, so artifacts may exceed the server's
 * max payload), named by the digest's hex; metadata (size, kind, first creation time) in a KV
 * bucket. The object is stored before its metadata is created, so metadata always names a
 * complete object; the metadata's create is compare-and-set, so of concurrent puts of the same
 * bytes (on any gateways) exactly one reports `created`.
 *
 * Reads are verified here, not trusted to the Object Store: the bytes must hash to the digest.
 */
import type { KV } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import { TfaasError } from "../../shared/errors.js";
import { digestHex, sha256Digest } from "../digest.js";
import type { ArtifactInfo, ArtifactKind, ArtifactStore } from "../index.js";
import type { Guard } from "./guard.js";
import { isWrongLastSequence, liveEntry } from "./kv-util.js";

export class NatsArtifactStore implements ArtifactStore {
  readonly #objects: ObjectStore;
  readonly #meta: KV;
  readonly #guard: Guard;
  /** Puts of the same digest in this process share one upload. */
  readonly #uploading = new Map<string, Promise<{ info: ArtifactInfo; created: boolean }>>();

  constructor(objects: ObjectStore, meta: KV, guard: Guard) {
    this.#objects = objects;
    this.#meta = meta;
    this.#guard = guard;
  }

  put(bytes: Uint8Array, kind: ArtifactKind): Promise<{ info: ArtifactInfo; created: boolean }> {
    return this.#guard.run("store artifact", async () => {
      const digest = sha256Digest(bytes);
      const shared = this.#uploading.get(digest);
      if (shared !== undefined) return { info: (await shared).info, created: false };
      const upload = this.#put(digest, bytes, kind);
      this.#uploading.set(digest, upload);
      try {
        return await upload;
      } finally {
        this.#uploading.delete(digest);
      }
    });
  }

  stat(digest: string): Promise<ArtifactInfo | undefined> {
    return this.#guard.run("read artifact metadata", async () => this.#stat(digestHex(digest)));
  }

  read(digest: string): Promise<Uint8Array> {
    return this.#guard.run("read artifact", async () => {
      const hex = digestHex(digest);
      if ((await this.#stat(hex)) === undefined) throw new TfaasError("artifact-not-found", `Cannot read artifact ${digest}: it does not exist`);
      const bytes = await this.#objects.getBlob(hex);
      if (bytes === null) throw new TfaasError("internal", `Cannot read artifact ${digest}: current object ${hex} is missing from the object store`);
      const actual = sha256Digest(bytes);
      if (actual !== digest) {
        throw new TfaasError("internal", `Cannot read artifact ${digest}: current object hashes to ${actual} (corrupted in the object store)`);
      }
      return bytes;
    });
  }

  async #put(digest: string, bytes: Uint8Array, kind: ArtifactKind): Promise<{ info: ArtifactInfo; created: boolean }> {
    const hex = digestHex(digest);
    const existing = await this.#stat(hex);
    // Re-upload when the object went missing behind the metadata's back, which heals it.
    const stored = existing !== undefined && (await this.#objects.info(hex))?.size === bytes.length;
    if (existing !== undefined && stored) return { info: existing, created: false };
    if (!stored) await this.#objects.putBlob({ name: hex }, bytes);
    const info: ArtifactInfo = { digest, size: bytes.length, kind, createdAt: new Date().toISOString() };
    try {
      await this.#meta.create(hex, JSON.stringify(info));
      return { info, created: true };
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
    const winner = await this.#stat(hex);
    if (winner === undefined) throw new TfaasError("internal", `Cannot store artifact ${digest}: current metadata vanished while storing it`);
    return { info: winner, created: false };
  }

  async #stat(hex: string): Promise<ArtifactInfo | undefined> {
    return liveEntry(await this.#meta.get(hex))?.json<ArtifactInfo>();
  }
}
