/**
 * Confidential vs plain invocation of the same echo function through the real platform (sim TEE),
 * measured in the same run in alternating rounds: added latency p50/p99 at one client (1 KiB
 * bodies), throughput ratio at CONCURRENCY clients. Every answer is decrypted and decoded. Two
 * confidential variants: "end to end" encrypts every request in the load generator as it is sent
 * and opens every answer as it arrives (the client's HPKE cost is in the latency, and its CPU
 * competes with the platform's on this machine); "platform" sends requests encrypted before the
 * round (each still unique: the worker refuses replays) and opens the answers after it, which
 * isolates what the platform adds, as with a client on another machine. Both functions run on both
 * workers (the confidential calls go to whichever worker's key each request was sealed to), so the
 * comparison does not also compare one worker process with two. Beside req/s, the CPU each process
 * (gateway, workers, load generator) spends per call, which is steadier on a shared machine. Also key release: a worker
 * identity fetching a sealed artifact's key from an embedded broker (challenge, evidence, policy
 * check, wrap, unwrap, open), and the first call after deploying sealed vs plain code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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
import { processCpuSeconds } from "../process-cpu.js";
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

/**
 * One unique request; its answer is decrypted and decoded in the check ("end to end"), or only kept
 * and checked by `verify` after the round (`deferred`), so the load generator, which shares the
 * 2 cores with the platform, does not spend ~30 µs per answer on the client's half of the work.
 */
function sealOne(config: OhttpKeyConfig, deferred?: Array<() => boolean>): LoadRequest {
  const sealed = encapsulateRequest(config, INNER);
  const opens = (answer: Buffer) => decodeBhttpResponse(sealed.context.openResponse(answer)).content.length === BODY.length;
  if (deferred === undefined) return { body: sealed.bytes, contentType: "message/ohttp-req", check: opens };
  return { body: sealed.bytes, contentType: "message/ohttp-req", check: (answer) => deferred.push(() => opens(answer)) > 0 };
}

/** Requests for one round; `verify` after it: answers that fail to open or decode count as errors, not calls. */
interface ConfidentialLoad {
  next: () => LoadRequest;
  verify(result: Round & { requests: number; seconds: number }): Round & { requests: number; seconds: number };
  /** Requests sealed during the round because the presealed ones ran out (should be 0 for "platform"). */
  sealedDuringRound(): number;
}

/**
 * "End to end" (`presealed` 0): each request is encrypted as it is sent and each answer opened as it
 * arrives. "Platform": `presealed` requests are encrypted now, before the round, and the answers are
 * opened after it; later requests (the round outran the estimate) are encrypted as sent and counted.
 */
function confidential(configs: OhttpKeyConfig[], presealed = 0): ConfidentialLoad {
  let next = 0;
  let late = 0;
  const deferred = presealed > 0 ? ([] as Array<() => boolean>) : undefined;
  const ready = Array.from({ length: presealed }, (_, i) => sealOne(configs[i % configs.length]!, deferred));
  return {
    next: () => {
      const request = ready.pop();
      if (request !== undefined) return request;
      if (deferred !== undefined) late++;
      return sealOne(configs[next++ % configs.length]!, deferred);
    },
    verify(result) {
      const failed = (deferred ?? []).filter((open) => !open()).length;
      const requests = result.requests - failed;
      return { requests, seconds: result.seconds, rps: requests / result.seconds, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors + failed };
    },
    sealedDuringRound: () => late,
  };
}

async function runConfidential(url: string, load: ConfidentialLoad, concurrency: number, ms: number, late: number[]): Promise<Round & { requests: number; seconds: number }> {
  const result = load.verify(await runLoad(url, load.next, concurrency, ms));
  late.push(load.sealedDuringRound());
  return result;
}

/**
 * A full collection before a "platform" round, so the garbage of encrypting its requests (ephemeral
 * key objects, thousands per round) is not collected during the round, in the load generator.
 */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** CPU µs per answered call, by process, over one round. */
interface CpuPerCall {
  gatewayUs: number;
  workersUs: number;
  loadGeneratorUs: number;
}

/**
 * Runs one round and charges the CPU each process used to its answered calls. On a shared machine
 * CPU per call is steadier than req/s, and it shows which process pays for what.
 */
async function withCpu(platform: Platform, round: () => Promise<Round & { requests?: number; seconds?: number }>, into: CpuPerCall[]): Promise<Round> {
  const workers = platform.workerPids();
  const sample = () => ({ gateway: processCpuSeconds(platform.process.pid), workers: workers.reduce((sum, pid) => sum + processCpuSeconds(pid), 0), own: process.cpuUsage() });
  const before = sample();
  const result = await round();
  const after = sample();
  const calls = Math.max(1, result.requests ?? result.rps * (result.seconds ?? 0));
  const own = process.cpuUsage(before.own);
  into.push({
    gatewayUs: ((after.gateway - before.gateway) * 1e6) / calls,
    workersUs: ((after.workers - before.workers) * 1e6) / calls,
    loadGeneratorUs: (own.user + own.system) / calls,
  });
  return result;
}

function summarizeCpu(rounds: CpuPerCall[]): CpuPerCall {
  return { gatewayUs: median(rounds.map((r) => r.gatewayUs)), workersUs: median(rounds.map((r) => r.workersUs)), loadGeneratorUs: median(rounds.map((r) => r.loadGeneratorUs)) };
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
    // On both workers, as the confidential calls are (the bench spreads them over both workers' keys).
    await deploy(platform, "echo", echo, { annotations: { "com.openfaas.scale.min": "2" } });
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
    await runLoad(confUrl, confidential(configs).next, CONCURRENCY, 1000);
    const latency = { plain: [] as Round[], confidential: [] as Round[], platform: [] as Round[] };
    const throughput = { plain: [] as Round[], confidential: [] as Round[], platform: [] as Round[] };
    const sealedLate: number[] = [];
    const cpu = { plain: [] as CpuPerCall[], confidential: [] as CpuPerCall[], platform: [] as CpuPerCall[] };
    // Enough for the round at several times the plain rate measured in warm-up rounds on 2 cores.
    const presealed = (rps: number, ms: number) => Math.ceil((rps * ms) / 1000) + 500;
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}/${ROUNDS}: one client, plain, confidential end to end, confidential platform`);
      latency.plain.push(await runLoad(plainUrl, plain, 1, roundMs / 2));
      latency.confidential.push(await runConfidential(confUrl, confidential(configs), 1, roundMs / 2, []));
      const oneClient = confidential(configs, presealed(2 * latency.plain.at(-1)!.rps, roundMs / 2));
      collectGarbage();
      latency.platform.push(await runConfidential(confUrl, oneClient, 1, roundMs / 2, sealedLate));
      progress(`round ${round}/${ROUNDS}: ${CONCURRENCY} clients, the same three`);
      throughput.plain.push(await withCpu(platform, () => runLoad(plainUrl, plain, CONCURRENCY, roundMs), cpu.plain));
      throughput.confidential.push(await withCpu(platform, () => runConfidential(confUrl, confidential(configs), CONCURRENCY, roundMs, []), cpu.confidential));
      const load = confidential(configs, presealed(2 * throughput.plain.at(-1)!.rps, roundMs));
      collectGarbage();
      throughput.platform.push(await withCpu(platform, () => runConfidential(confUrl, load, CONCURRENCY, roundMs, sealedLate), cpu.platform));
    }
    progress("key release…");
    const release = await keyRelease(dir);
    progress("first calls after deploy, plain and sealed…");
    const first = await firstCalls(platform, dir);

    const lat = { plain: summarize(latency.plain), confidential: summarize(latency.confidential), platform: summarize(latency.platform) };
    const thr = { plain: summarize(throughput.plain), confidential: summarize(throughput.confidential), platform: summarize(throughput.platform) };
    const cpuPerCall = { plain: summarizeCpu(cpu.plain), confidential: summarizeCpu(cpu.confidential), platform: summarizeCpu(cpu.platform) };
    const platformCpu = (c: CpuPerCall) => c.gatewayUs + c.workersUs;
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
      platformRequestsSealedDuringRounds: sealedLate.reduce((sum, n) => sum + n, 0),
      keyRelease: release,
      firstCallAfterDeploy: first,
      cpuPerCallUs: { ...cpuPerCall, platformRatio: platformCpu(cpuPerCall.plain) / platformCpu(cpuPerCall.platform) },
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
      `"platform" requests that ran past the presealed ones and were encrypted during the round: ${report.platformRequestsSealedDuringRounds} (should be 0)`,
      `key release (challenge, sim evidence, policy check, wrap, unwrap, open): p50 ${release.p50Ms.toFixed(2)} ms, p99 ${release.p99Ms.toFixed(2)} ms (${release.samples} samples)`,
      `first call after deploy: plain ${first.plainMs.toFixed(1)} ms, sealed ${first.sealedMs.toFixed(1)} ms (median of ${FIRST_CALLS})`,
      `CPU µs per call at ${CONCURRENCY} clients (gateway + workers | load generator): ` +
        (["plain", "platform", "confidential"] as const).map((v) => `${v} ${cpuPerCall[v].gatewayUs.toFixed(0)} + ${cpuPerCall[v].workersUs.toFixed(0)} | ${cpuPerCall[v].loadGeneratorUs.toFixed(0)}`).join("; "),
      `platform CPU per call, plain/confidential: ${(platformCpu(cpuPerCall.plain) / platformCpu(cpuPerCall.platform)).toFixed(3)} (the throughput ratio the platform allows when it has the cores to itself)`,
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
