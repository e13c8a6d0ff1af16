/**
 * Encrypted code end to end (sim TEE): `tfaas deploy --encrypt` seals on the owner's side, the
 * owner's broker (`tfaas kbs serve`, a real process) releases the key only to evidence that
 * satisfies the policy; a wrong measurement, a policy that forbids sim and a replayed key request
 * are denied and the function does not run; every decision is logged with its reason and never a
 * key; neither the code's marker nor a request body's marker reaches what the gateway keeps.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfidentialClient, parsePolicy } from "../src/client/index.js";
import { artifactDigest } from "../src/confidential/index.js";
import { TfaasError } from "../src/shared/errors.js";
import { KeyStore } from "../src/kbs/index.js";
import { leaksOf, markerEcho, simPlatformKey, simPlatformKeyFile, workerMeasurement } from "./confidential-fixtures.js";
import { tfaas } from "./cli-runner.js";
import { repoRoot, startPlatform, type Platform } from "./harness.js";

const CODE_MARKER = `CODE-MARKER-${randomUUID()}`;
const BODY_MARKER = `BODY-MARKER-${randomUUID()}`;
let platform: Platform;
let work: string;
let broker: ChildProcess;
let brokerUrl: string;
let brokerLog = "";
let proxy: http.Server;
let proxyUrl: string;
const keyRequests: string[] = [];
let client: ConfidentialClient;
const digests: Record<string, string> = {};

/** Passes requests to the broker and keeps the key requests, as an eavesdropper on the worker's link would. */
async function startRecordingProxy(): Promise<void> {
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url?.endsWith("/key")) keyRequests.push(body);
      const answer = await fetch(brokerUrl + (req.url ?? "/"), { method: req.method ?? "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain", "x-tfaas-error": answer.headers.get("x-tfaas-error") ?? "" });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

async function startBroker(kbsDir: string): Promise<void> {
  broker = spawn(process.execPath, [path.join(repoRoot, "bin", "tfaas.js"), "kbs", "serve", "--dir", kbsDir, "--port", "0", "--sim-platform-key", simPlatformKeyFile(platform)], {
    env: { ...process.env, TFAAS_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  broker.stderr!.on("data", (chunk: Buffer) => (brokerLog += chunk.toString()));
  brokerUrl = await new Promise<string>((resolve, reject) => {
    let out = "";
    broker.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^ready: (\S+)$/m.exec(out);
      if (match) resolve(match[1]!);
    });
    broker.once("exit", (code) => reject(new Error(`kbs exited with ${code}: ${brokerLog}`)));
  });
}

async function deployEncrypted(name: string, policy: unknown): Promise<void> {
  const code = await markerEcho(`${CODE_MARKER}-${name}`);
  digests[name] = artifactDigest(code);
  writeFileSync(path.join(work, `${name}.wasm`), code);
  writeFileSync(path.join(work, `${name}.policy.json`), JSON.stringify(policy));
  const run = await tfaas(platform, work, [
    "deploy", "--encrypt", "--name", name, "--image", `${name}.wasm`, "--kbs", proxyUrl, "--kbs-dir", path.join(work, "kbs"),
    "--kbs-policy", `${name}.policy.json`, "--annotation", "com.tfaas.confidential=true",
  ]);
  expect(run.stderr).toBe("");
  expect(run.stdout).toMatch(/sealed \(measurement/);
  expect(run.code).toBe(0);
}

async function callsOf(name: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const totals = (await (await platform.api(`/system/usage?name=${name}`)).json()) as Array<{ calls: number }>;
  return totals.reduce((sum, entry) => sum + entry.calls, 0);
}

beforeAll(async () => {
  platform = await startPlatform({ workers: 2 });
  work = mkdtempSync(path.join(os.tmpdir(), "tfaas-kbs-it-"));
  await startBroker(path.join(work, "kbs"));
  await startRecordingProxy();
  const measurement = await workerMeasurement(platform);
  await deployEncrypted("allowed", { tee: { sim: { measurements: [measurement] } } });
  await deployEncrypted("wrong-measurement", { tee: { sim: { measurements: ["ab".repeat(32)] } } });
  await deployEncrypted("no-sim", { tee: { "sev-snp": { measurements: ["cd".repeat(48)] } } });
  client = new ConfidentialClient({
    url: platform.url,
    credentials: { user: platform.user, password: platform.password },
    policy: parsePolicy({ tee: { sim: { measurements: [measurement] } } }),
    trustAnchors: { sim: { platformKeys: [simPlatformKey(platform)] } },
  });
}, 90_000);
afterAll(async () => {
  broker?.kill("SIGTERM");
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await platform?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function refusal(name: string): Promise<TfaasError> {
  const error = await client.invoke(name, { body: BODY_MARKER }).then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(TfaasError);
  return error as TfaasError;
}

describe("encrypted code and the key broker", () => {
  it("runs sealed code once the broker admits the worker; the receipt names the plaintext digest", async () => {
    const answer = await client.invoke("allowed", { body: BODY_MARKER });
    expect(answer.status).toBe(200);
    expect(new TextDecoder().decode(answer.body)).toBe(`${BODY_MARKER}${CODE_MARKER}-allowed`);
    expect(answer.receipt.ok).toBe(true);
    expect(answer.receipt.receipt?.content.artifactDigest).toBe(digests.allowed);
    expect(brokerLog).toMatch(new RegExp(`kbs release reason=.* artifactDigest=${digests.allowed}`));
  });

  it("denies a worker whose measurement the policy does not expect; the function does not run", async () => {
    const error = await refusal("wrong-measurement");
    expect(error.code).toBe("forbidden");
    expect(error.message).toMatch(/policy\.measurement/);
    expect(await callsOf("wrong-measurement")).toBe(0);
    expect(brokerLog).toMatch(new RegExp(`kbs deny reason=.*policy\\.measurement.*artifactDigest=${digests["wrong-measurement"]}`));
  });

  it("denies when the policy forbids sim; the function does not run", async () => {
    const error = await refusal("no-sim");
    expect(error.code).toBe("forbidden");
    expect(error.message).toMatch(/policy\.tee-type: evidence is sim; policy allows sev-snp/);
    expect(await callsOf("no-sim")).toBe(0);
  });

  it("lists keys without them, and runs the code once the owner's new policy admits the worker (no broker restart)", async () => {
    const kbsDir = path.join(work, "kbs");
    const listed = await tfaas(platform, work, ["kbs", "list", "--dir", kbsDir, "--json"]);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{ artifactDigest: string; allows: string[] }>;
    expect(rows.find((row) => row.artifactDigest === digests["no-sim"])?.allows).toEqual(["sev-snp"]);
    expect(listed.stdout).not.toMatch(/"key"/);
    writeFileSync(path.join(work, "admit.policy.json"), JSON.stringify({ tee: { sim: { measurements: [await workerMeasurement(platform)] } } }));
    const changed = await tfaas(platform, work, ["kbs", "policy", digests["no-sim"]!, "--policy", "admit.policy.json", "--dir", kbsDir]);
    expect(changed.code).toBe(0);
    const answer = await client.invoke("no-sim", { body: BODY_MARKER });
    expect(new TextDecoder().decode(answer.body)).toBe(`${BODY_MARKER}${CODE_MARKER}-no-sim`);
  });

  it("denies a replayed key request (evidence bound to a used nonce)", async () => {
    expect(keyRequests.length).toBeGreaterThan(0);
    const replayed = await fetch(`${brokerUrl}/kbs/v1/key`, { method: "POST", headers: { "content-type": "application/json" }, body: keyRequests[0]! });
    expect(replayed.status).toBe(403);
    expect(await replayed.text()).toMatch(/nonce unknown, already used or expired \(replayed evidence\?\)/);
    expect(brokerLog).toMatch(/kbs deny .*reason="nonce unknown, already used or expired/);
  });

  it("logs every decision with its reason and never a key or the code", async () => {
    const store = new KeyStore(path.join(work, "kbs"));
    const keys = await Promise.all(Object.values(digests).map(async (digest) => Buffer.from((await store.get(digest))!.key).toString("base64url")));
    const lines = brokerLog.split("\n").filter((line) => / kbs (release|deny) /.test(line));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toMatch(/reason=/);
    for (const key of keys) expect(brokerLog).not.toContain(key);
    expect(brokerLog).not.toContain(CODE_MARKER);
    // The owner's key directory does hold the keys (mode 0600): that is where they live.
    expect(readFileSync(path.join(work, "kbs", "keys", `${digests.allowed!.slice(7)}.json`), "utf8")).toContain(keys[0]!);
  });

  it("never lets the code's or the body's marker reach the data directory, the queue, the gateway's output or /metrics", async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await leaksOf(platform, CODE_MARKER)).toEqual([]);
    expect(await leaksOf(platform, BODY_MARKER)).toEqual([]);
  });
});
