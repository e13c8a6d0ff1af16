/**
 * Confidential vs plain invocation of the same echo function through the real platform (sim TEE),
 * measured in the same run in alternating rounds: added latency p50/p99 at one client (1 KiB
 * bodies), throughput ratio at CONCURRENCY clients. Each answer is decrypted and decoded. Two
 * confidential variants: "end to end" encrypts every request in the load generator as it is
 * sent (the client's HPKE cost is in the latency, and its CPU competes with the platform's on this
 * machine); "platform" sends requests encrypted before the round (each still unique: the worker
 * refuses replays), which isolates what the platform adds, as with a client on another machine.
 * Also key release: a worker
 * identity fetching a sealed artifact's key from an embedded broker (challenge, evidence, policy
 * check, wrap, unwrap, open), and the first call after deploying sealed vs plain code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeSealedUpload } from "../../src/artifacts/index.js";
import { createWorkerIdentity } from "../../src/attestation/index.js";
import { ConfidentialClient, parsePolicy } from "../../src/client/index.js";
import { decodeBhttpResponse, encapsulateRequest, encodeBhttpRequest, sealArtifact, type OhttpKeyConfig } from "../../src/confidential/index.js";
import { KeyBroker, KeyStore, serveKeyBroker } from "../../src/kbs/index.js";
import { parseSimEvidence } from "../../src/tee/index.js";
import { openSealedCode } from "../../src/worker/key-release.js";
import { simPlatformKey, workerMeasurement } from "../../test/confidential-fixtures.js";
import { deploy, startPlatform, watFixture, type Platform } from "../../test/harness.js";
import { median, percentile, runLoad, type LoadRequest } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const ROUNDS = 3;
const CONCURRENCY = 16;
const BODY = Buffer.alloc(1024, "a");
const KEY_RELEASES = 50;
const FIRST_CALLS = 5;

interface Round {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const plain = (): LoadRequest => ({ body: BODY, contentType: "application/octet-stream", check: (answer) => answer.length === BODY.length });

const INNER = encodeBhttpRequest({ method: "POST", scheme: "http", authority: "gateway", path: "/function/echo-conf", headers: [["content-type", "application/octet-stream"]], content: BODY, trailers: [] });

function sealOne(config: OhttpKeyConfig): LoadRequest {
  const sealed = encapsulateRequest(config, INNER);
  return { body: sealed.bytes, contentType: "message/ohttp-req", check: (answer) => decodeBhttpResponse(sealed.context.openResponse(answer)).content.length === BODY.length };
}

/** `presealed`: that many requests encrypted now, used first (the round should not outrun them; later ones are encrypted as sent). */
function confidential(configs: OhttpKeyConfig[], presealed = 0): () => LoadRequest {
  let next = 0;
  const ready = Array.from({ length: presealed }, (_, i) => sealOne(configs[i % configs.length]!));
  return () => ready.pop() ?? sealOne(configs[next++ % configs.length]!);
}

function summarize(rounds: Round[]): Round {
  return { rps: median(rounds.map((r) => r.rps)), p50Ms: median(rounds.map((r) => r.p50Ms)), p99Ms: median(rounds.map((r) => r.p99Ms)), errors: rounds.reduce((sum, r) => sum + r.errors, 0) };
}

async function keyRelease(dir: string): Promise<{ p50Ms: number; p99Ms: number; samples: number }> {
  const identity = await createWorkerIdentity({ instance: "bench", tee: "sim", receipts: "off", dataDir: dir, simDebug: false });
  const evidence = await identity.attest(new Uint8Array(32));
  const keys = new KeyStore(path.join(dir, "kbs"));
  const broker = new KeyBroker({ keys, trustAnchors: { sim: { platformKeys: [parseSimEvidence(evidence.bytes).platformKey] } }, record: () => undefined });
  const server = await serveKeyBroker(broker, { port: 0, host: "127.0.0.1" });
  try {
    const sealed = sealArtifact(await watFixture("echo"));
    await keys.put({ artifactDigest: sealed.digest, key: sealed.key, policy: { tee: { sim: { measurements: [evidence.measurement] } } } });
    const envelope = encodeSealedUpload({ kind: "wasm", digest: sealed.digest, ciphertext: sealed.ciphertext });
    const times: number[] = [];
    for (let i = 0; i < KEY_RELEASES + 5; i++) {
      const started = performance.now();
      await openSealedCode(envelope, server.url, "bench", identity);
      if (i >= 5) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), samples: times.length };
  } finally {
    await server.close();
  }
}

/** First call after deploying the same code plain and sealed (the sealed load includes the key release). */
async function firstCalls(platform: Platform, dir: string): Promise<{ plainMs: number; sealedMs: number }> {
  const code = await watFixture("echo");
  const keys = new KeyStore(path.join(dir, "platform-kbs"));
  const broker = new KeyBroker({ keys, trustAnchors: { sim: { platformKeys: [simPlatformKey(platform)] } }, record: () => undefined });
  const server = await serveKeyBroker(broker, { port: 0, host: "127.0.0.1" });
  const measurement = await workerMeasurement(platform);
  const plainTimes: number[] = [];
  const sealedTimes: number[] = [];
  try {
    for (let i = 0; i < FIRST_CALLS; i++) {
      await deploy(platform, `first-plain-${i}`, code);
      let started = performance.now();
      if ((await fetch(`${platform.url}/function/first-plain-${i}`, { method: "POST", body: BODY })).status !== 200) throw new Error("plain first call failed");
      plainTimes.push(performance.now() - started);
      const sealed = sealArtifact(code);
      await keys.put({ artifactDigest: sealed.digest, key: sealed.key, policy: { tee: { sim: { measurements: [measurement] } } } });
      const upload = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/vnd.tfaas.sealed-artifact" }, body: encodeSealedUpload({ kind: "wasm", digest: sealed.digest, ciphertext: sealed.ciphertext }) });
      const { digest } = (await upload.json()) as { digest: string };
      const res = await platform.api("/system/functions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ service: `first-sealed-${i}`, image: digest, annotations: { "com.tfaas.kbs": server.url } }) });
      if (res.status !== 202) throw new Error(`sealed deploy failed: ${res.status}`);
      started = performance.now();
      const call = await fetch(`${platform.url}/function/first-sealed-${i}`, { method: "POST", body: BODY });
      if (call.status !== 200) throw new Error(`sealed first call failed: ${call.status} ${await call.text()}`);
      sealedTimes.push(performance.now() - started);
    }
  } finally {
    await server.close();
  }
  return { plainMs: median(plainTimes), sealedMs: median(sealedTimes) };
}

async function run({ seconds, progress }: BenchOptions): Promise<SuiteResult> {
  const roundMs = seconds * 1000;
  const dir = mkdtempSync(path.join(os.tmpdir(), "tfaas-bench-conf-"));
  const platform = await startPlatform({ workers: 2 });
  try {
    const echo = await watFixture("echo");
    await deploy(platform, "echo", echo);
    await deploy(platform, "echo-conf", echo, { annotations: { "com.tfaas.confidential": "true" } });
    const client = new ConfidentialClient({
      url: platform.url,
      credentials: { user: platform.user, password: platform.password },
      policy: parsePolicy({ tee: { sim: { measurements: [await workerMeasurement(platform)] } } }),
      trustAnchors: { sim: { platformKeys: [simPlatformKey(platform)] } },
    });
    // Keys the client verified against attestation, as any confidential caller must.
    const configs = (await client.workers()).map((worker) => worker.config);
    const plainUrl = `${platform.url}/function/echo`;
    const confUrl = `${platform.url}/function/echo-conf`;

    progress("warming up…");
    await runLoad(plainUrl, plain, CONCURRENCY, 1000);
    await runLoad(confUrl, confidential(configs), CONCURRENCY, 1000);
    const latency = { plain: [] as Round[], confidential: [] as Round[], platform: [] as Round[] };
    const throughput = { plain: [] as Round[], confidential: [] as Round[], platform: [] as Round[] };
    // Enough for the round at several times the plain rate measured in warm-up rounds on 2 cores.
    const presealed = (rps: number, ms: number) => Math.ceil((rps * ms) / 1000) + 500;
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}/${ROUNDS}: one client, plain, confidential end to end, confidential platform`);
      latency.plain.push(await runLoad(plainUrl, plain, 1, roundMs / 2));
      latency.confidential.push(await runLoad(confUrl, confidential(configs), 1, roundMs / 2));
      latency.platform.push(await runLoad(confUrl, confidential(configs, presealed(2 * latency.plain.at(-1)!.rps, roundMs / 2)), 1, roundMs / 2));
      progress(`round ${round}/${ROUNDS}: ${CONCURRENCY} clients, the same three`);
      throughput.plain.push(await runLoad(plainUrl, plain, CONCURRENCY, roundMs));
      throughput.confidential.push(await runLoad(confUrl, confidential(configs), CONCURRENCY, roundMs));
      throughput.platform.push(await runLoad(confUrl, confidential(configs, presealed(2 * throughput.plain.at(-1)!.rps, roundMs)), CONCURRENCY, roundMs));
    }
    progress("key release…");
    const release = await keyRelease(dir);
    progress("first calls after deploy, plain and sealed…");
    const first = await firstCalls(platform, dir);

    const lat = { plain: summarize(latency.plain), confidential: summarize(latency.confidential), platform: summarize(latency.platform) };
    const thr = { plain: summarize(throughput.plain), confidential: summarize(throughput.confidential), platform: summarize(throughput.platform) };
    const added = {
      endToEnd: { p50Ms: lat.confidential.p50Ms - lat.plain.p50Ms, p99Ms: lat.confidential.p99Ms - lat.plain.p99Ms },
      platform: { p50Ms: lat.platform.p50Ms - lat.plain.p50Ms, p99Ms: lat.platform.p99Ms - lat.plain.p99Ms },
    };
    const ratio = { endToEnd: thr.confidential.rps / thr.plain.rps, platform: thr.platform.rps / thr.plain.rps };
    const report = {
      benchmark: "confidential-vs-plain",
      bodyBytes: BODY.length,
      roundSeconds: roundMs / 1000,
      rounds: ROUNDS,
      latencyOneClient: lat,
      addedLatency: added,
      throughput: { concurrency: CONCURRENCY, ...thr, ratio },
      keyRelease: release,
      firstCallAfterDeploy: first,
      targets: { addedP50Ms: 0.5, throughputRatio: 0.8 },
    };
    const row = (name: string, r: Round) => `${name.padEnd(28)} ${r.rps.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)} ${String(r.errors).padStart(7)}`;
    const table = [
      `confidential vs plain echo, 1 KiB bodies, ${ROUNDS} alternating rounds (medians); sim TEE`,
      `${"".padEnd(28)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`,
      row("plain, 1 client", lat.plain),
      row("confidential e2e, 1 client", lat.confidential),
      row("confidential platform, 1 cl.", lat.platform),
      row(`plain, ${CONCURRENCY} clients`, thr.plain),
      row(`confidential e2e, ${CONCURRENCY} cl.`, thr.confidential),
      row(`confidential platform, ${CONCURRENCY} cl.`, thr.platform),
      `added latency p50 (target ≤ 0.5 ms): platform ${added.platform.p50Ms.toFixed(3)} ms, end to end ${added.endToEnd.p50Ms.toFixed(3)} ms; p99: platform ${added.platform.p99Ms.toFixed(3)} ms, end to end ${added.endToEnd.p99Ms.toFixed(3)} ms`,
      `throughput ratio confidential/plain (target ≥ 0.8): platform ${ratio.platform.toFixed(3)}, end to end ${ratio.endToEnd.toFixed(3)} (client encryption on the same 2 cores)`,
      `key release (challenge, sim evidence, policy check, wrap, unwrap, open): p50 ${release.p50Ms.toFixed(2)} ms, p99 ${release.p99Ms.toFixed(2)} ms (${release.samples} samples)`,
      `first call after deploy: plain ${first.plainMs.toFixed(1)} ms, sealed ${first.sealedMs.toFixed(1)} ms (median of ${FIRST_CALLS})`,
    ];
    return { table, json: report };
  } finally {
    await platform.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const confidentialSuite: Suite = {
  name: "confidential",
  description: "confidential (Oblivious HTTP) vs plain invocation of the same function; key release latency",
  run,
};
