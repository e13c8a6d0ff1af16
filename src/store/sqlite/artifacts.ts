/**
 * Artifacts: bytes in content-addressed files, metadata in SQLite. The file is made durable
 * before its row is written, so a row always names a complete file; a crash in between leaves
 * an orphan file that the next put of the same bytes adopts.
 */
import type { Database } from "better-sqlite3";
import { TfaasError } from "../../shared/errors.js";
import { digestHex, sha256Digest } from "../digest.js";
import type { ArtifactInfo, ArtifactKind, ArtifactStore } from "../index.js";
import type { ArtifactFiles } from "./artifact-files.js";
import type { Lifecycle } from "../lifecycle.js";

interface ArtifactRow {
  digest: string;
  size: number;
  kind: ArtifactKind;
  created_at: string;
}

export class SqliteArtifactStore implements ArtifactStore {
  readonly #files: ArtifactFiles;
  readonly #lifecycle: Lifecycle;
  readonly #get;
  readonly #insert;

  constructor(db: Database, files: ArtifactFiles, lifecycle: Lifecycle) {
    this.#files = files;
    this.#lifecycle = lifecycle;
    this.#get = db.prepare<[string], ArtifactRow>("SELECT digest, size, kind, created_at FROM artifacts WHERE digest = ?");
    this.#insert = db.prepare<ArtifactRow>(
      "INSERT INTO artifacts (digest, size, kind, created_at) VALUES (:digest, :size, :kind, :created_at) ON CONFLICT DO NOTHING",
    );
  }

  async put(bytes: Uint8Array, kind: ArtifactKind): Promise<{ info: ArtifactInfo; created: boolean }> {
    return this.#lifecycle.track(async () => {
      const digest = sha256Digest(bytes);
      const hex = digestHex(digest);
      // Rewriting a missing file heals a row whose file was deleted behind the store's back.
      if (!(await this.#files.has(hex, bytes.length))) await this.#files.write(hex, bytes);
      const created =
        this.#insert.run({ digest, size: bytes.length, kind, created_at: new Date().toISOString() }).changes > 0;
      const info = this.#stat(digest);
      // Unreachable short of another process deleting rows: the row was inserted or already there.
      if (info === undefined) throw new TfaasError("internal", `Cannot store artifact ${digest}: current metadata row is missing`);
      return { info, created };
    });
  }

  async stat(digest: string): Promise<ArtifactInfo | undefined> {
    this.#lifecycle.assertOpen();
    digestHex(digest);
    return this.#stat(digest);
  }

  async read(digest: string): Promise<Uint8Array> {
    return this.#lifecycle.track(async () => {
      const hex = digestHex(digest);
      if (this.#stat(digest) === undefined) {
        throw new TfaasError("artifact-not-found", `Cannot read artifact ${digest}: it does not exist`);
      }
      const bytes = await this.#files.read(hex);
      if (bytes === undefined) {
        throw new TfaasError("internal", `Cannot read artifact ${digest}: current file ${this.#files.pathOf(hex)} is missing`);
      }
      const actual = sha256Digest(bytes);
      if (actual !== digest) {
        throw new TfaasError(
          "internal",
          `Cannot read artifact ${digest}: current file ${this.#files.pathOf(hex)} hashes to ${actual} (corrupted on disk)`,
        );
      }
      return bytes;
    });
  }

  #stat(digest: string): ArtifactInfo | undefined {
    const row = this.#get.get(digest);
    return row === undefined ? undefined : { digest: row.digest, size: row.size, kind: row.kind, createdAt: row.created_at };
  }
}
