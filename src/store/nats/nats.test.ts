import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteStreams, NATS_SKIP_MESSAGE, natsServerMissing, startNatsServer, type NatsServer } from "../../../test/nats/launcher.js";
import { describeStoreContract, expectTfaasError, functionRecord } from "../store.contract.js";
import { connectNats, openNatsStore } from "./index.js";

if (natsServerMissing) console.warn(NATS_SKIP_MESSAGE);

describe.skipIf(natsServerMissing)("NATS store on a single server", () => {
  let server: NatsServer;
  let keyDir: string;
  let keyFile: string;
  let counter = 0;

  beforeAll(async () => {
    server = await startNatsServer();
    keyDir = mkdtempSync(path.join(os.tmpdir(), "tfaas-nats-key-"));
    keyFile = writeKey(keyDir, "secrets.key");
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  describeStoreContract("nats", async () => {
    const prefix = `c${++counter}`;
    const store = await openNatsStore({ url: server.url, secretKeyFile: keyFile, prefix });
    return {
      store,
      dispose: async () => {
        await store.close();
        await deleteStreams(server.url, prefix);
      },
    };
  });

  it("fails with unavailable naming the URL when no server answers", async () => {
    // Port 1 on loopback: nothing listens there.
    const error = await expectTfaasError(connectNats("nats://127.0.0.1:1", { name: "t", connectTimeoutMs: 1_000 }), "unavailable", "nats://127.0.0.1:1");
    expect(error.message).toMatch(/^Cannot connect to NATS at/);
    await expectTfaasError(openNatsStore({ url: "nats://user:hunter2@127.0.0.1:1", secretKeyFile: keyFile }), "unavailable", "***@127.0.0.1:1");
    const leaked = await openNatsStore({ url: "nats://user:hunter2@127.0.0.1:1", secretKeyFile: keyFile }).catch((e: Error) => e.message);
    expect(leaked).not.toContain("hunter2");
  });

  it("never creates a secrets key, and refuses one that is missing or readable by others", async () => {
    await expectTfaasError(openNatsStore({ url: server.url, secretKeyFile: path.join(keyDir, "absent.key"), prefix: "k1" }), "internal", "absent.key");
    const loose = writeKey(keyDir, "loose.key");
    chmodSync(loose, 0o644);
    await expectTfaasError(openNatsStore({ url: server.url, secretKeyFile: loose, prefix: "k1" }), "internal", "chmod 600");
  });

  it("refuses to open with a key other than the one its secrets are sealed under", async () => {
    const first = await openNatsStore({ url: server.url, secretKeyFile: keyFile, prefix: "k2" });
    await first.secrets.create("s", "openfaas-fn", new TextEncoder().encode("v"));
    await first.close();
    const other = writeKey(keyDir, "other.key");
    await expectTfaasError(openNatsStore({ url: server.url, secretKeyFile: other, prefix: "k2" }), "internal", "is not the key");
    const again = await openNatsStore({ url: server.url, secretKeyFile: keyFile, prefix: "k2" });
    expect(new TextDecoder().decode((await again.secrets.values(["s"], "openfaas-fn")).get("s"))).toBe("v");
    await again.close();
    await deleteStreams(server.url, "k2");
  });

  it("shares state between two stores on one connection and leaves a shared connection open", async () => {
    const nc = await connectNats(server.url, { name: "shared" });
    try {
      const a = await openNatsStore({ connection: nc, secretKeyFile: keyFile, prefix: "k3" });
      const b = await openNatsStore({ connection: nc, secretKeyFile: keyFile, prefix: "k3" });
      await a.functions.create(functionRecord("seen"));
      expect((await b.functions.get("seen", "openfaas-fn"))?.name).toBe("seen");
      await expectTfaasError(b.functions.create(functionRecord("seen")), "conflict");
      await a.close();
      expect(nc.isClosed()).toBe(false);
      expect(await b.functions.remove("seen", "openfaas-fn")).toBe(true);
      await b.close();
    } finally {
      await nc.close();
      await deleteStreams(server.url, "k3");
    }
  });

  it("fails with unavailable after the request timeout while the server is down, and works again after it returns", async () => {
    const store = await openNatsStore({ url: server.url, secretKeyFile: keyFile, prefix: "k4", requestTimeoutMs: 500 });
    try {
      await store.functions.create(functionRecord("durable"));
      await server.kill();
      const started = Date.now();
      await expectTfaasError(store.functions.get("durable", "openfaas-fn"), "unavailable", server.url);
      expect(Date.now() - started).toBeLessThan(5_000);
      await server.restart();
      await waitFor(async () => (await store.functions.get("durable", "openfaas-fn"))?.name === "durable");
    } finally {
      await store.close();
      await deleteStreams(server.url, "k4");
    }
  });

  it("stores artifacts larger than the server's max payload and serves them verified", async () => {
    const store = await openNatsStore({ url: server.url, secretKeyFile: keyFile, prefix: "k5" });
    try {
      const big = randomBytes(3 * 1024 * 1024);
      const { info } = await store.artifacts.put(big, "wasm");
      expect(Buffer.from(await store.artifacts.read(info.digest)).equals(big)).toBe(true);
    } finally {
      await store.close();
      await deleteStreams(server.url, "k5");
    }
  });
});

function writeKey(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return file;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
