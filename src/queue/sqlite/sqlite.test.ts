import Database from "better-sqlite3";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Queue } from "../queue.js";
import { describeQueueContract, newCall } from "../queue.contract.js";
import { openSqliteQueue } from "./index.js";
import { QUEUE_SCHEMA_VERSION } from "./schema.js";

describeQueueContract("sqlite", async (maxDepth) => {
  const dir = await fs.mkdtemp(join(tmpdir(), "tfaas-queue-"));
  let queue: Queue = await openSqliteQueue({ dataDir: dir, maxDepth });
  return {
    queue,
    reopen: async () => {
      await queue.close();
      queue = await openSqliteQueue({ dataDir: dir, maxDepth });
      return queue;
    },
    dispose: async () => {
      await queue.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
});

describe("openSqliteQueue", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });
  async function tempDir(): Promise<string> {
    const dir = await fs.mkdtemp(join(tmpdir(), "tfaas-queue-"));
    dirs.push(dir);
    return dir;
  }

  it("keeps its own WAL database with synchronous=FULL and a versioned schema", async () => {
    const dir = await tempDir();
    const queue = await openSqliteQueue({ dataDir: dir, maxDepth: 10 });
    await queue.close();
    const db = new Database(join(dir, "queue.db"), { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("user_version", { simple: true })).toBe(QUEUE_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it("has committed an enqueue by the time it resolves (visible to another connection)", async () => {
    const dir = await tempDir();
    const queue = await openSqliteQueue({ dataDir: dir, maxDepth: 10 });
    try {
      await queue.enqueue(newCall("seen"));
      const db = new Database(join(dir, "queue.db"), { readonly: true });
      try {
        expect(db.prepare("SELECT state FROM calls WHERE call_id = 'seen'").pluck().get()).toBe("queued");
      } finally {
        db.close();
      }
    } finally {
      await queue.close();
    }
  });

  it("refuses a depth below one and a schema newer than it knows", async () => {
    const dir = await tempDir();
    await expect(openSqliteQueue({ dataDir: dir, maxDepth: 0 })).rejects.toThrow(/maxDepth is 0/);
    const db = new Database(join(dir, "queue.db"));
    db.pragma(`user_version = ${QUEUE_SCHEMA_VERSION + 1}`);
    db.close();
    await expect(openSqliteQueue({ dataDir: dir, maxDepth: 1 })).rejects.toThrow(/newer than this TFaaS understands/);
  });
});
