import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Digest } from "../digest.js";
import type { Store } from "../index.js";
import { describeStoreContract, expectTfaasError, functionRecord } from "../store.contract.js";
import { openSqliteStore } from "./index.js";
import { SCHEMA_VERSION } from "./schema.js";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

async function makeTempDir(): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), "tfaas-store-"));
}

describeStoreContract("sqlite", async () => {
  const dir = await makeTempDir();
  try {
    const store = await openSqliteStore({ dataDir: join(dir, "data") });
    return {
      store,
      dispose: async () => {
        await store.close();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
});

describe("openSqliteStore", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A data directory inside a temp dir removed after the test; stores opened through `open` are closed first. */
  async function dataDir(): Promise<string> {
    const dir = await makeTempDir();
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    return join(dir, "data");
  }

  async function open(dir: string, maxLogEntriesPerFunction?: number): Promise<Store> {
    const store = await openSqliteStore(
      maxLogEntriesPerFunction === undefined ? { dataDir: dir } : { dataDir: dir, maxLogEntriesPerFunction },
    );
    cleanups.push(() => store.close());
    return store;
  }

  function withDatabase<T>(dir: string, use: (db: Database.Database) => T): T {
    const db = new Database(join(dir, "tfaas.db"));
    try {
      return use(db);
    } finally {
      db.close();
    }
  }

  it("lays out a private data directory with a WAL database at the current schema version", async () => {
    const dir = await dataDir();
    const store = await open(dir);
    await store.close();
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(join(dir, "artifacts", "sha256"))).mode & 0o777).toBe(0o700);
    withDatabase(dir, (db) => {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    });
  });

  it("keeps everything across close and reopen", async () => {
    const dir = await dataDir();
    const first = await open(dir);
    const record = functionRecord("persisted", "team", {
      deployment: { service: "persisted", image: `sha256:${"d".repeat(64)}`, envVars: { a: "1" }, secrets: ["token"] },
      revision: 4,
    });
    await first.functions.create(record);
    await first.secrets.create("token", "team", utf8("t0ken"));
    await first.logs.append([{ name: "persisted", namespace: "team", instance: "w1", timestamp: "2024-05-01T10:00:00.000Z", text: "hello" }]);
    const { info } = await first.artifacts.put(utf8("(module)"), "wasm");
    await first.close();

    const second = await open(dir);
    expect(await second.functions.get("persisted", "team")).toStrictEqual(record);
    expect(text((await second.secrets.values(["token"], "team")).get("token"))).toBe("t0ken");
    expect((await second.logs.query({ name: "persisted", namespace: "team" })).map((entry) => entry.text)).toEqual(["hello"]);
    expect(await second.artifacts.stat(info.digest)).toStrictEqual(info);
    expect(text(await second.artifacts.read(info.digest))).toBe("(module)");
  });

  it("bounds logs per function across batches and reopens", async () => {
    const dir = await dataDir();
    const entry = (second: number) => ({
      name: "fn",
      namespace: "openfaas-fn",
      instance: "w1",
      timestamp: `2024-05-01T10:00:0${second}.000Z`,
      text: `line ${second}`,
    });
    const query = { name: "fn", namespace: "openfaas-fn" };
    const first = await open(dir, 3);
    await first.logs.append([entry(0), entry(1)]);
    await first.logs.append([entry(2), entry(3)]);
    expect((await first.logs.query(query)).map((e) => e.text)).toEqual(["line 1", "line 2", "line 3"]);
    await first.close();

    const second = await open(dir, 3);
    await second.logs.append([entry(4)]);
    expect((await second.logs.query(query)).map((e) => e.text)).toEqual(["line 2", "line 3", "line 4"]);
    // An entry older than everything kept is itself the oldest, so it is the one dropped.
    await second.logs.append([entry(0)]);
    expect((await second.logs.query(query)).map((e) => e.text)).toEqual(["line 2", "line 3", "line 4"]);
    await second.logs.removeFunction("fn", "openfaas-fn");
    await second.logs.append([entry(5)]);
    expect((await second.logs.query(query)).map((e) => e.text)).toEqual(["line 5"]);
  });

  it("refuses a maxLogEntriesPerFunction below 1", async () => {
    await expectTfaasError(openSqliteStore({ dataDir: await dataDir(), maxLogEntriesPerFunction: 0 }), "invalid-request");
  });

  describe("secrets at rest", () => {
    it("creates a 32-byte key file readable by its owner only, once", async () => {
      const dir = await dataDir();
      await (await open(dir)).close();
      const keyPath = join(dir, "secrets.key");
      const stat = await fs.stat(keyPath);
      expect(stat.mode & 0o777).toBe(0o600);
      expect(stat.size).toBe(32);
      const key = await fs.readFile(keyPath);
      await (await open(dir)).close();
      expect((await fs.readFile(keyPath)).equals(key)).toBe(true);
    });

    it("refuses a key file of the wrong size or readable by others, without printing it", async () => {
      const shortDir = await dataDir();
      await fs.mkdir(shortDir, { recursive: true, mode: 0o700 });
      await fs.writeFile(join(shortDir, "secrets.key"), Buffer.alloc(16, 0x41), { mode: 0o600 });
      const short = await expectTfaasError(openSqliteStore({ dataDir: shortDir }), "internal", "current size is 16 bytes");
      expect(short.message).not.toContain("AAAA");

      const openDir = await dataDir();
      await (await open(openDir)).close();
      await fs.chmod(join(openDir, "secrets.key"), 0o644);
      await expectTfaasError(openSqliteStore({ dataDir: openDir }), "internal", "current mode is 0644");
    });

    it("never writes a secret's plaintext into the data directory", async () => {
      const dir = await dataDir();
      const store = await open(dir);
      const plaintext = `plaintext-${randomBytes(8).toString("hex")}`;
      await store.secrets.create("needle", "openfaas-fn", utf8(plaintext));
      await store.secrets.update("needle", "openfaas-fn", utf8(plaintext));
      // Read while open (WAL not yet checkpointed) and after close.
      const readAll = async () => {
        const names = await fs.readdir(dir);
        const contents = await Promise.all(names.filter((name) => name.startsWith("tfaas.db")).map((name) => fs.readFile(join(dir, name))));
        expect(contents.length).toBeGreaterThan(0);
        return Buffer.concat(contents);
      };
      expect((await readAll()).includes(plaintext)).toBe(false);
      await store.close();
      expect((await readAll()).includes(plaintext)).toBe(false);
      expect((await readAll()).includes("needle")).toBe(true);
    });

    it("fails clearly when a ciphertext was tampered with or moved to another row", async () => {
      const dir = await dataDir();
      const first = await open(dir);
      await first.secrets.create("alpha", "openfaas-fn", utf8("alpha-value"));
      await first.secrets.create("beta", "openfaas-fn", utf8("beta-value"));
      await first.close();
      withDatabase(dir, (db) => {
        const row = db.prepare<[], { sealed: Buffer }>("SELECT sealed FROM secrets WHERE name = 'alpha'").get();
        const sealed = Buffer.from(row?.sealed ?? Buffer.alloc(0));
        sealed[0] = (sealed[0] ?? 0) ^ 0x01;
        db.prepare("UPDATE secrets SET sealed = ? WHERE name = 'alpha'").run(sealed);
        // Copy beta's nonce and ciphertext onto a new row named gamma.
        db.prepare("INSERT INTO secrets (namespace, name, nonce, sealed) SELECT namespace, 'gamma', nonce, sealed FROM secrets WHERE name = 'beta'").run();
      });
      const second = await open(dir);
      const tampered = await expectTfaasError(second.secrets.values(["alpha"], "openfaas-fn"), "internal", "Cannot decrypt secret \"alpha\"");
      expect(tampered.message).not.toContain("alpha-value");
      await expectTfaasError(second.secrets.values(["gamma"], "openfaas-fn"), "internal", "Cannot decrypt secret \"gamma\"");
      expect(text((await second.secrets.values(["beta"], "openfaas-fn")).get("beta"))).toBe("beta-value");
    });

    it("fails clearly when the key file was replaced", async () => {
      const dir = await dataDir();
      const first = await open(dir);
      await first.secrets.create("sealed", "openfaas-fn", utf8("value"));
      await first.close();
      await fs.writeFile(join(dir, "secrets.key"), randomBytes(32), { mode: 0o600 });
      const second = await open(dir);
      await expectTfaasError(second.secrets.values(["sealed"], "openfaas-fn"), "internal", "another key");
    });
  });

  describe("artifact files", () => {
    const artifactDir = (dir: string) => join(dir, "artifacts", "sha256");

    it("detects a corrupted or missing file instead of serving it, and heals on a fresh put", async () => {
      const dir = await dataDir();
      const store = await open(dir);
      const bytes = utf8("export default { fetch() {} }");
      const { info } = await store.artifacts.put(bytes, "javascript");
      const path = join(artifactDir(dir), info.digest.slice("sha256:".length));
      expect((await fs.stat(path)).mode & 0o777).toBe(0o600);

      await fs.writeFile(path, Buffer.alloc(bytes.length, 0x20));
      await expectTfaasError(store.artifacts.read(info.digest), "internal", "corrupted");

      await fs.rm(path);
      await expectTfaasError(store.artifacts.read(info.digest), "internal", "missing");

      const again = await store.artifacts.put(bytes, "javascript");
      expect(again).toStrictEqual({ info, created: false });
      expect(text(await store.artifacts.read(info.digest))).toBe("export default { fetch() {} }");
    });

    it("leaves exactly one file and no temporaries after concurrent puts of the same bytes", async () => {
      const dir = await dataDir();
      const store = await open(dir);
      const bytes = randomBytes(256 * 1024);
      const results = await Promise.all(Array.from({ length: 6 }, () => store.artifacts.put(bytes, "wasm")));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(await fs.readdir(artifactDir(dir))).toEqual([sha256Digest(bytes).slice("sha256:".length)]);
    });

    it("removes temporaries left by a crashed writer when it opens, but not fresh ones", async () => {
      const dir = await dataDir();
      await (await open(dir)).close();
      const stale = join(artifactDir(dir), ".tmp-stale");
      const fresh = join(artifactDir(dir), ".tmp-fresh");
      await fs.writeFile(stale, "partial");
      await fs.writeFile(fresh, "partial");
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await fs.utimes(stale, twoHoursAgo, twoHoursAgo);
      await (await open(dir)).close();
      expect((await fs.readdir(artifactDir(dir))).sort()).toEqual([".tmp-fresh"]);
    });
  });

  describe("lifecycle", () => {
    it("fails clearly after close, closes idempotently, and lets a put under way finish first", async () => {
      const dir = await dataDir();
      const store = await open(dir);
      const putting = store.artifacts.put(randomBytes(1024 * 1024), "wasm");
      await store.close();
      const { info, created } = await putting;
      expect(created).toBe(true);
      expect((await fs.stat(join(dir, "artifacts", "sha256", info.digest.slice(7)))).size).toBe(1024 * 1024);
      await store.close();
      await expectTfaasError(store.functions.list("openfaas-fn"), "unavailable", "closed");
      await expectTfaasError(store.artifacts.put(utf8("late"), "wasm"), "unavailable");
      withDatabase(dir, (db) => {
        expect(db.prepare("SELECT count(*) AS n FROM artifacts").get()).toEqual({ n: 1 });
      });
    });

    it("refuses a database written by a newer schema", async () => {
      const dir = await dataDir();
      await (await open(dir)).close();
      withDatabase(dir, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
      await expectTfaasError(openSqliteStore({ dataDir: dir }), "internal", "newer than this TFaaS understands");
    });
  });
});
