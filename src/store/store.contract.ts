/**
 * The contract every Store implementation passes: call `describeStoreContract` from a test file
 * with a factory that opens a fresh, empty store and a `dispose` that closes it and removes
 * whatever it created.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectTfaasError } from "../shared/expect-error.js";
import { Defaults } from "../shared/constants.js";
import type { FunctionRecord } from "../shared/function.js";
import type { LogEntry, Store, UsageRecord } from "./index.js";

export interface OpenedStore {
  store: Store;
  dispose(): Promise<void>;
}

export { expectTfaasError };

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export function functionRecord(name: string, namespace = "openfaas-fn", overrides: Partial<FunctionRecord> = {}): FunctionRecord {
  return {
    name,
    namespace,
    deployment: { service: name, image: `sha256:${"a".repeat(64)}` },
    createdAt: "2024-05-01T10:00:00.000Z",
    replicas: 1,
    revision: 1,
    ...overrides,
  };
}

function logEntry(name: string, timestamp: string, text: string, namespace = "openfaas-fn"): LogEntry {
  return { name, namespace, instance: "worker-1", timestamp, text };
}

export function describeStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore | undefined;
    let store: Store;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });

    afterEach(async () => {
      await opened?.dispose();
      opened = undefined;
    });

    it("closes idempotently and then refuses work with unavailable", async () => {
      await store.close();
      await store.close();
      await expectTfaasError(store.functions.get("fn", "openfaas-fn"), "unavailable");
      await expectTfaasError(store.secrets.values(["s"], "openfaas-fn"), "unavailable");
      await expectTfaasError(store.logs.query({ name: "fn", namespace: "openfaas-fn" }), "unavailable");
      await expectTfaasError(store.artifacts.put(utf8("late"), "wasm"), "unavailable");
    });

    describe("functions", () => {
      it("round-trips every FunctionDeployment field exactly", async () => {
        const record = functionRecord("full", "team-a", {
          deployment: {
            service: "full",
            image: `sha256:${"b".repeat(64)}`,
            namespace: "team-a",
            envProcess: "node index.js",
            envVars: { write_debug: "true", "10": "numeric-like key", empty: "" },
            constraints: ["node.platform.os == linux"],
            secrets: ["db-password", "api-key"],
            labels: { tier: "backend" },
            annotations: { "com.tfaas.abi": "wagi", note: "multi\nline ✓" },
            limits: { memory: "128Mi", cpu: "500m" },
            requests: { memory: "64Mi" },
            readOnlyRootFilesystem: true,
          },
          createdAt: "2024-05-01T10:00:00.123Z",
          replicas: 3,
          revision: 7,
        });
        await store.functions.create(record);
        expect(await store.functions.get("full", "team-a")).toStrictEqual(record);
      });

      it("returns undefined for an unknown function and lists by namespace", async () => {
        expect(await store.functions.get("missing", "openfaas-fn")).toBeUndefined();
        await store.functions.create(functionRecord("b"));
        await store.functions.create(functionRecord("a"));
        await store.functions.create(functionRecord("a", "other"));
        const names = (await store.functions.list("openfaas-fn")).map((record) => record.name).sort();
        expect(names).toEqual(["a", "b"]);
        expect((await store.functions.list("other")).map((record) => record.namespace)).toEqual(["other"]);
        expect(await store.functions.list("empty")).toEqual([]);
      });

      it("refuses to create a function twice and keeps the first", async () => {
        await store.functions.create(functionRecord("twice", "openfaas-fn", { replicas: 1 }));
        await expectTfaasError(store.functions.create(functionRecord("twice", "openfaas-fn", { replicas: 5 })), "conflict", "twice");
        expect((await store.functions.get("twice", "openfaas-fn"))?.replicas).toBe(1);
      });

      it("replaces a record on update and refuses to update an unknown one", async () => {
        await store.functions.create(functionRecord("fn"));
        const updated = functionRecord("fn", "openfaas-fn", {
          deployment: { service: "fn", image: `sha256:${"c".repeat(64)}`, envVars: { mode: "new" } },
          replicas: 2,
          revision: 2,
        });
        await store.functions.update(updated);
        expect(await store.functions.get("fn", "openfaas-fn")).toStrictEqual(updated);
        await expectTfaasError(store.functions.update(functionRecord("fn", "elsewhere")), "function-not-found", "fn");
        expect(await store.functions.get("fn", "elsewhere")).toBeUndefined();
      });

      it("removes a function once", async () => {
        await store.functions.create(functionRecord("gone"));
        expect(await store.functions.remove("gone", "other")).toBe(false);
        expect(await store.functions.remove("gone", "openfaas-fn")).toBe(true);
        expect(await store.functions.remove("gone", "openfaas-fn")).toBe(false);
        expect(await store.functions.get("gone", "openfaas-fn")).toBeUndefined();
      });
    });

    describe("secrets", () => {
      it("returns the exact bytes it was given, binary and empty included", async () => {
        const binary = new Uint8Array([0, 255, 1, 254, 0, 10, 13]);
        await store.secrets.create("binary", "openfaas-fn", binary);
        await store.secrets.create("empty", "openfaas-fn", new Uint8Array());
        await store.secrets.create("text", "openfaas-fn", utf8("s3cr3t ✓"));
        const values = await store.secrets.values(["text", "binary", "empty"], "openfaas-fn");
        expect([...values.keys()]).toEqual(["text", "binary", "empty"]);
        expect(hex(values.get("binary") ?? utf8("absent"))).toBe(hex(binary));
        expect(values.get("empty")?.length).toBe(0);
        expect(new TextDecoder().decode(values.get("text"))).toBe("s3cr3t ✓");
      });

      it("lists names only, per namespace", async () => {
        await store.secrets.create("b", "openfaas-fn", utf8("1"));
        await store.secrets.create("a", "openfaas-fn", utf8("2"));
        await store.secrets.create("c", "other", utf8("3"));
        expect((await store.secrets.list("openfaas-fn")).sort()).toEqual(["a", "b"]);
        expect(await store.secrets.list("other")).toEqual(["c"]);
        expect(await store.secrets.list("empty")).toEqual([]);
      });

      it("refuses a duplicate create and keeps the first value", async () => {
        await store.secrets.create("dup", "openfaas-fn", utf8("first"));
        await expectTfaasError(store.secrets.create("dup", "openfaas-fn", utf8("second")), "conflict", "dup");
        const values = await store.secrets.values(["dup"], "openfaas-fn");
        expect(new TextDecoder().decode(values.get("dup"))).toBe("first");
      });

      it("updates an existing secret and refuses to update a missing one", async () => {
        await store.secrets.create("rotating", "openfaas-fn", utf8("v1"));
        await store.secrets.update("rotating", "openfaas-fn", utf8("v2"));
        const values = await store.secrets.values(["rotating"], "openfaas-fn");
        expect(new TextDecoder().decode(values.get("rotating"))).toBe("v2");
        await expectTfaasError(store.secrets.update("rotating", "other", utf8("v3")), "secret-not-found", "rotating");
        expect(await store.secrets.list("other")).toEqual([]);
      });

      it("fails values() naming the first missing secret", async () => {
        await store.secrets.create("present", "openfaas-fn", utf8("x"));
        await expectTfaasError(
          store.secrets.values(["present", "first-missing", "second-missing"], "openfaas-fn"),
          "secret-not-found",
          "first-missing",
        );
        await expectTfaasError(store.secrets.values(["present"], "other"), "secret-not-found", "present");
        expect((await store.secrets.values([], "openfaas-fn")).size).toBe(0);
      });

      it("never puts a value into an error message", async () => {
        await store.secrets.create("leaky", "openfaas-fn", utf8("do-not-print-me"));
        const error = await expectTfaasError(store.secrets.create("leaky", "openfaas-fn", utf8("do-not-print-me")), "conflict");
        expect(error.message).not.toContain("do-not-print-me");
      });

      it("removes a secret once", async () => {
        await store.secrets.create("gone", "openfaas-fn", utf8("x"));
        expect(await store.secrets.remove("gone", "other")).toBe(false);
        expect(await store.secrets.remove("gone", "openfaas-fn")).toBe(true);
        expect(await store.secrets.remove("gone", "openfaas-fn")).toBe(false);
        await expectTfaasError(store.secrets.values(["gone"], "openfaas-fn"), "secret-not-found");
      });
    });

    describe("logs", () => {
      const texts = (entries: LogEntry[]): string[] => entries.map((entry) => entry.text);

      it("returns entries in time order whatever the order they were appended in", async () => {
        await store.logs.append([
          logEntry("fn", "2024-05-01T10:00:02.000Z", "third"),
          logEntry("fn", "2024-05-01T10:00:00.000Z", "first"),
        ]);
        await store.logs.append([logEntry("fn", "2024-05-01T10:00:01.000Z", "second")]);
        const entries = await store.logs.query({ name: "fn", namespace: "openfaas-fn" });
        expect(texts(entries)).toEqual(["first", "second", "third"]);
        expect(entries[0]).toStrictEqual(logEntry("fn", "2024-05-01T10:00:00.000Z", "first"));
      });

      it("keeps entries with equal timestamps in arrival order", async () => {
        const at = "2024-05-01T10:00:00.000Z";
        await store.logs.append([logEntry("fn", at, "a"), logEntry("fn", at, "b")]);
        await store.logs.append([logEntry("fn", at, "c")]);
        expect(texts(await store.logs.query({ name: "fn", namespace: "openfaas-fn" }))).toEqual(["a", "b", "c"]);
      });

      it("filters by since (strictly after) and tail (last N)", async () => {
        await store.logs.append(
          [0, 1, 2, 3, 4].map((second) => logEntry("fn", `2024-05-01T10:00:0${second}.000Z`, `line ${second}`)),
        );
        const query = { name: "fn", namespace: "openfaas-fn" };
        expect(texts(await store.logs.query({ ...query, since: "2024-05-01T10:00:02.000Z" }))).toEqual(["line 3", "line 4"]);
        expect(texts(await store.logs.query({ ...query, since: "2024-05-01T12:00:01.500+02:00" }))).toEqual([
          "line 2",
          "line 3",
          "line 4",
        ]);
        expect(texts(await store.logs.query({ ...query, tail: 2 }))).toEqual(["line 3", "line 4"]);
        expect(texts(await store.logs.query({ ...query, tail: 10 }))).toHaveLength(5);
        expect(await store.logs.query({ ...query, tail: 0 })).toEqual([]);
        expect(texts(await store.logs.query({ ...query, since: "2024-05-01T10:00:00.000Z", tail: 3 }))).toEqual([
          "line 2",
          "line 3",
          "line 4",
        ]);
        expect(texts(await store.logs.query({ ...query, since: "2024-05-01T10:00:02.000Z", tail: 5 }))).toEqual([
          "line 3",
          "line 4",
        ]);
      });

      it("rejects a malformed since or tail", async () => {
        const query = { name: "fn", namespace: "openfaas-fn" };
        await expectTfaasError(store.logs.query({ ...query, since: "yesterday" }), "invalid-request", "yesterday");
        await expectTfaasError(store.logs.query({ ...query, tail: -1 }), "invalid-request");
        await expectTfaasError(store.logs.query({ ...query, tail: 1.5 }), "invalid-request");
      });

      it("rejects a batch with a malformed timestamp without writing any of it", async () => {
        await expectTfaasError(
          store.logs.append([logEntry("fn", "2024-05-01T10:00:00.000Z", "ok"), logEntry("fn", "not a time", "bad")]),
          "invalid-request",
        );
        expect(await store.logs.query({ name: "fn", namespace: "openfaas-fn" })).toEqual([]);
      });

      it("keeps functions apart and drops one function's logs on removal", async () => {
        await store.logs.append([
          logEntry("a", "2024-05-01T10:00:00.000Z", "a1"),
          logEntry("b", "2024-05-01T10:00:00.000Z", "b1"),
          logEntry("a", "2024-05-01T10:00:00.000Z", "other namespace", "other"),
        ]);
        expect(texts(await store.logs.query({ name: "a", namespace: "openfaas-fn" }))).toEqual(["a1"]);
        await store.logs.removeFunction("a", "openfaas-fn");
        expect(await store.logs.query({ name: "a", namespace: "openfaas-fn" })).toEqual([]);
        expect(texts(await store.logs.query({ name: "b", namespace: "openfaas-fn" }))).toEqual(["b1"]);
        expect(texts(await store.logs.query({ name: "a", namespace: "other" }))).toEqual(["other namespace"]);
      });

      it(`keeps at most the default ${Defaults.maxLogLinesPerFunction} entries per function, dropping the oldest`, async () => {
        const limit = Defaults.maxLogLinesPerFunction;
        const base = Date.parse("2024-05-01T00:00:00.000Z");
        const entries = Array.from({ length: limit + 5 }, (_, i) =>
          logEntry("busy", new Date(base + i * 1000).toISOString(), `line ${i}`),
        );
        await store.logs.append(entries);
        await store.logs.append([logEntry("quiet", "2024-05-01T00:00:00.000Z", "kept")]);
        const kept = await store.logs.query({ name: "busy", namespace: "openfaas-fn" });
        expect(kept).toHaveLength(limit);
        expect(kept[0]?.text).toBe("line 5");
        expect(kept.at(-1)?.text).toBe(`line ${limit + 4}`);
        expect(await store.logs.query({ name: "quiet", namespace: "openfaas-fn" })).toHaveLength(1);
      });
    });

    describe("artifacts", () => {
      const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
      // sha256 of the 8-byte empty module above, computed independently of the store.
      const wasmDigest = "sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476";

      it("stores bytes under their sha256 digest and reads them back", async () => {
        const before = Date.now();
        const { info, created } = await store.artifacts.put(wasm, "wasm");
        expect(created).toBe(true);
        expect(info.digest).toBe(wasmDigest);
        expect(info.size).toBe(wasm.length);
        expect(info.kind).toBe("wasm");
        expect(Date.parse(info.createdAt)).toBeGreaterThanOrEqual(before - 1000);
        expect(await store.artifacts.stat(wasmDigest)).toStrictEqual(info);
        expect(hex(await store.artifacts.read(wasmDigest))).toBe(hex(wasm));
      });

      it("returns the first record when the same bytes are stored again", async () => {
        const first = await store.artifacts.put(utf8("export default {}"), "javascript");
        await new Promise((resolve) => setTimeout(resolve, 5));
        const second = await store.artifacts.put(utf8("export default {}"), "wasm");
        expect(second.created).toBe(false);
        expect(second.info).toStrictEqual(first.info);
        expect(second.info.kind).toBe("javascript");
      });

      it("creates once when the same bytes are stored concurrently", async () => {
        const bytes = utf8("concurrent");
        const results = await Promise.all(Array.from({ length: 8 }, () => store.artifacts.put(bytes, "javascript")));
        expect(results.filter((result) => result.created)).toHaveLength(1);
        for (const result of results) expect(result.info).toStrictEqual(results[0]?.info);
        expect(new TextDecoder().decode(await store.artifacts.read(results[0]?.info.digest ?? ""))).toBe("concurrent");
      });

      it("reports unknown digests", async () => {
        const unknown = `sha256:${"0".repeat(64)}`;
        expect(await store.artifacts.stat(unknown)).toBeUndefined();
        await expectTfaasError(store.artifacts.read(unknown), "artifact-not-found", unknown);
      });

      it("rejects malformed digests", async () => {
        for (const malformed of [
          "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476",
          wasmDigest.toUpperCase(),
          `sha256:${"A".repeat(64)}`,
          `sha256:${"0".repeat(63)}`,
          `sha512:${"0".repeat(64)}`,
          `sha256:${"0".repeat(64)}/../x`,
          "",
        ]) {
          await expectTfaasError(store.artifacts.stat(malformed), "invalid-request");
          await expectTfaasError(store.artifacts.read(malformed), "invalid-request");
        }
      });
    });

    describe("usage", () => {
      const record = (callId: string, name: string, timestamp: string, fuel: string | null, extra: Partial<UsageRecord> = {}): UsageRecord => ({
        callId,
        name,
        namespace: "openfaas-fn",
        timestamp,
        status: 200,
        fuel,
        memoryPeakBytes: 65_536,
        ioBytesIn: 10,
        ioBytesOut: 20,
        wallSeconds: 0.5,
        weightsVersion: fuel === null ? null : "v1",
        instance: "worker-0",
        ...extra,
      });

      it("keeps records and finds one by call id, receipt included", async () => {
        const first = record("c1", "alpha", "2024-05-01T10:00:00.000Z", "12", { receipt: '{"sig":"x"}' });
        await store.usage.append([first, record("c2", "beta", "2024-05-01T10:00:01.000Z", null)]);
        expect(await store.usage.get("c1")).toEqual(first);
        expect((await store.usage.get("c2"))?.fuel).toBeNull();
        expect(await store.usage.get("nope")).toBeUndefined();
      });

      it("totals per function exactly, over a half-open time range", async () => {
        const big = "18446744073709551615"; // 2^64 - 1: beyond a double's exact range
        await store.usage.append([
          record("a1", "alpha", "2024-05-01T10:00:00.000Z", big),
          record("a2", "alpha", "2024-05-01T10:00:01.000Z", "1", { memoryPeakBytes: 131_072 }),
          record("a3", "alpha", "2024-05-01T10:00:02.000Z", null),
          record("b1", "beta", "2024-05-01T10:00:01.500Z", "7"),
          record("o1", "other", "2024-05-01T10:00:01.000Z", "5", { namespace: "elsewhere" }),
        ]);
        const all = await store.usage.totals({ namespace: "openfaas-fn" });
        expect(all.map((t) => t.name)).toEqual(["alpha", "beta"]);
        expect(all[0]).toEqual({
          name: "alpha",
          namespace: "openfaas-fn",
          calls: 3,
          fuel: (BigInt(big) + 1n).toString(),
          memoryPeakBytes: 131_072,
          ioBytesIn: 30,
          ioBytesOut: 60,
          wallSeconds: 1.5,
        });
        const window = await store.usage.totals({ namespace: "openfaas-fn", since: "2024-05-01T10:00:01.000Z", until: "2024-05-01T10:00:02.000Z" });
        expect(window.map((t) => [t.name, t.calls, t.fuel])).toEqual([
          ["alpha", 1, "1"],
          ["beta", 1, "7"],
        ]);
        expect((await store.usage.totals({ namespace: "openfaas-fn", name: "beta" })).map((t) => t.name)).toEqual(["beta"]);
      });

      it("lists records in time order with a limit", async () => {
        await store.usage.append([
          record("late", "alpha", "2024-05-01T10:00:05.000Z", "1"),
          record("early", "alpha", "2024-05-01T10:00:01.000Z", "1"),
          record("middle", "alpha", "2024-05-01T10:00:03.000Z", "1"),
        ]);
        expect((await store.usage.list({ namespace: "openfaas-fn" })).map((r) => r.callId)).toEqual(["early", "middle", "late"]);
        expect((await store.usage.list({ namespace: "openfaas-fn", limit: 2 })).map((r) => r.callId)).toEqual(["early", "middle"]);
        await expectTfaasError(store.usage.list({ namespace: "openfaas-fn", limit: 0 }), "invalid-request");
      });

      it("rejects a malformed record without writing any of its batch", async () => {
        await expectTfaasError(
          store.usage.append([record("ok", "alpha", "2024-05-01T10:00:00.000Z", "1"), record("bad", "alpha", "2024-05-01T10:00:00.000Z", "-3")]),
          "invalid-request",
        );
        await expectTfaasError(store.usage.append([record("bad-time", "alpha", "yesterday", "1")]), "invalid-request");
        expect(await store.usage.list({ namespace: "openfaas-fn" })).toEqual([]);
      });
    });
  });
}
