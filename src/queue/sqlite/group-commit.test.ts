import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { GroupCommit } from "./group-commit.js";

function database(): Database.Database {
  const db = new Database(":memory:");
  db.exec("CREATE TABLE t (x INTEGER NOT NULL)");
  return db;
}

const SYNCHRONOUS = { NORMAL: 1, FULL: 2 } as const;

describe("GroupCommit", () => {
  it("commits the writes of one event-loop turn together, rolling back only a write that throws", async () => {
    const db = database();
    const writes = new GroupCommit(db, true, () => undefined);
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const outcomes = await Promise.allSettled([
      writes.run(() => insert.run(1).changes, false),
      writes.run(() => {
        insert.run(2);
        throw new Error("refused");
      }, false),
      writes.run(() => insert.run(3).changes, true),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(db.prepare("SELECT x FROM t ORDER BY x").pluck().all()).toEqual([1, 3]);
    db.close();
  });

  it("fsyncs (synchronous=FULL) only batches holding an acknowledged write, and none when told not to", async () => {
    const db = database();
    const writes = new GroupCommit(db, true, () => undefined);
    const insert = () => db.prepare("INSERT INTO t (x) VALUES (1)").run();
    await writes.run(insert, false);
    expect(db.pragma("synchronous", { simple: true })).toBe(SYNCHRONOUS.NORMAL);
    await Promise.all([writes.run(insert, false), writes.run(insert, true)]);
    expect(db.pragma("synchronous", { simple: true })).toBe(SYNCHRONOUS.FULL);
    const relaxed = new GroupCommit(db, false, () => undefined);
    await relaxed.run(insert, true);
    expect(db.pragma("synchronous", { simple: true })).toBe(SYNCHRONOUS.NORMAL);
    db.close();
  });

  it("rejects a whole batch whose commit fails and reports it", async () => {
    const db = database();
    let reported = 0;
    const writes = new GroupCommit(db, false, () => reported++);
    db.close();
    await expect(writes.run(() => 1, false)).rejects.toThrow();
    expect(reported).toBe(1);
    await writes.drained();
  });
});
