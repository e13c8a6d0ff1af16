/**
 * Attestation and receipts in the running platform:
 * - verification time of evidence (sim, in process; the real SEV-SNP and TDX samples from
 *   ../shared/tee-evidence when present) and of a whole GET /system/attestation round trip;
 * - warm sync invocation throughput with receipts off, each and batched: three platforms (one
 *   worker each, so the worker is the bottleneck and signing shows), loaded in alternating rounds
 *   in the same run (the order rotates each round, so no mode always follows another), medians.
 *   Overhead per call = 1/rps(mode) − 1/rps(off): wall time the saturated worker spends per call
 *   beyond the baseline. Also the CPU time the gateway and the worker process each used per call
 *   (from /proc, all threads): on a shared machine the steadier measure of what receipts cost.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAttestationAnswer, verifyAttestationAnswer, WorkerReceipts, type CallFacts } from "../../src/attestation/index.js";
import { generateSigningKeyPair } from "../../src/crypto/index.js";
import { bindingReportData, createSimBackend, parsePolicy, verifyEvidence, type Evidence, type VerifyOptions } from "../../src/tee/index.js";
import { deploy, startPlatform, watFixture, type Platform } from "../../test/harness.js";
import { median, runLoad, type LoadResult } from "../load.js";
import { processCpuSeconds } from "../process-cpu.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const VERIFY_RUNS = 100;
const ROUNDS = 7;
const CONCURRENCY = 32;
const MODES = ["off", "each", "batched"] as const;
type Mode = (typeof MODES)[number];
const body = Buffer.from("hello, tfaas\n");
const samples = fileURLToPath(new URL("../../../shared/tee-evidence", import.meta.url));

function timeMedianMs(runs: number, step: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    step();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function verificationTimes(progress: (line: string) => void): Promise<Record<string, number | null>> {
  progress("verification: sim evidence");
  const dir = mkdtempSync(path.join(os.tmpdir(), "tfaas-bench-sim-"));
  try {
    const measurement = randomBytes(32);
    const backend = await createSimBackend({ dataDir: dir, measurement });
    const keys = { receiptKey: randomBytes(32), hpkeKey: randomBytes(32) };
    const nonce = randomBytes(32);
    const evidence = await backend.evidence(bindingReportData(keys, nonce));
    const options: VerifyOptions = {
      policy: parsePolicy({ tee: { sim: { measurements: [measurement.toString("hex")] } } }),
      nonce,
      reportedNonce: nonce,
      keys,
      trustAnchors: { sim: { platformKeys: [backend.platformPublicKey] } },
    };
    if (!verifyEvidence(evidence, options).ok) throw new Error("sim evidence did not verify");
    const result: Record<string, number | null> = { simMs: timeMedianMs(VERIFY_RUNS, () => verifyEvidence(evidence, options)), sevSnpMs: null, tdxMs: null };
    if (existsSync(path.join(samples, "sev-snp", "attestation.bin"))) {
      progress("verification: real SEV-SNP sample");
      const askArk = readFileSync(path.join(samples, "sev-snp", "ask_ark_milan.pem"), "utf8");
      const sev: Evidence = { type: "sev-snp", bytes: new Uint8Array(readFileSync(path.join(samples, "sev-snp", "attestation.bin"))), certificates: [new Uint8Array(readFileSync(path.join(samples, "sev-snp", "vcek.testcer")))] };
      const sevOptions: VerifyOptions = { ...options, policy: parsePolicy({ tee: { "sev-snp": { measurements: ["00".repeat(48)] } } }), trustAnchors: { sevSnp: { ark: askArk, ask: askArk } }, now: new Date("2024-01-01T00:00:00Z") };
      result.sevSnpMs = timeMedianMs(VERIFY_RUNS, () => verifyEvidence(sev, sevOptions));
    }
    const tdxDir = path.join(samples, "tdx");
    if (existsSync(path.join(tdxDir, "tdx_prod_quote_SPR_E4.dat"))) {
      progress("verification: real TDX sample with collateral");
      const tdx: Evidence = { type: "tdx", bytes: new Uint8Array(readFileSync(path.join(tdxDir, "tdx_prod_quote_SPR_E4.dat"))), certificates: [] };
      const tdxOptions: VerifyOptions = {
        ...options,
        policy: parsePolicy({ tee: { tdx: { mrtd: ["00".repeat(48)] } } }),
        trustAnchors: {
          intel: {
            rootCa: readFileSync(path.join(tdxDir, "trusted_root.pem"), "utf8"),
            tcbInfo: readFileSync(path.join(tdxDir, "sample_tcbInfo_response"), "utf8"),
            qeIdentity: readFileSync(path.join(tdxDir, "sample_qeIdentity_response"), "utf8"),
            rootCrl: new Uint8Array(readFileSync(path.join(tdxDir, "rootcrl.der"))),
            pckCrl: new Uint8Array(readFileSync(path.join(tdxDir, "pckcrl"))),
          },
        },
        now: new Date("2023-06-20T00:00:00Z"),
      };
      result.tdxMs = timeMedianMs(VERIFY_RUNS, () => verifyEvidence(tdx, tdxOptions));
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PATH_CALLS = 8192;
const PATH_BURST = 32;

/**
 * CPU per call of the worker's receipt path (digests of both bodies, issue, header encoding),
 * in process: calls arrive in bursts of 32 as under load, each burst's receipts
 * awaited together; median of 5 runs. Mode off is the baseline (bookkeeping only).
 */
async function receiptPathUs(mode: "off" | "each" | "batched"): Promise<number> {
  const facts: CallFacts = {
    callId: "22321a7c-4f57-46b5-904b-3bbcf253b1d0",
    function: "echo.openfaas-fn",
    artifactDigest: `sha256:${"ab".repeat(32)}`,
    request: body,
    response: body,
    status: 200,
    usage: { fuel: 68n, weightsVersion: "v1", memoryPeakBytes: 131072, pageFuelIntegral: 136n, ioBytesIn: 13, ioBytesOut: 13 },
    wallNanos: 250_000,
  };
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    const receipts = new WorkerReceipts({ workerId: `bench.${run}`, privateKey: generateSigningKeyPair().privateKey, mode });
    // Process CPU time, all threads: batch roots are signed on libuv's thread pool.
    const started = process.cpuUsage();
    for (let done = 0; done < PATH_CALLS; done += PATH_BURST) {
      const tickets = Array.from({ length: PATH_BURST }, () => receipts.begin());
      await Promise.all(tickets.map((ticket) => ticket.issue(facts)));
    }
    const used = process.cpuUsage(started);
    runs.push((used.user + used.system) / PATH_CALLS);
    receipts.close();
  }
  return median(runs);
}

interface Round {
  load: LoadResult;
  /** CPU µs per successful call in the gateway and in its worker process, when /proc is there. */
  gatewayCpuUs: number | null;
  workerCpuUs: number | null;
}

async function loadRound(platform: Platform, roundMs: number): Promise<Round> {
  const pids = { gateway: platform.process.pid, worker: platform.workerPids()[0] };
  const before = { gateway: processCpuSeconds(pids.gateway), worker: processCpuSeconds(pids.worker) };
  const load = await runLoad(`${platform.url}/function/echo`, body, CONCURRENCY, roundMs);
  const perCall = (now: number, then: number) => (Number.isNaN(now - then) || load.requests === 0 ? null : ((now - then) * 1e6) / load.requests);
  return { load, gatewayCpuUs: perCall(processCpuSeconds(pids.gateway), before.gateway), workerCpuUs: perCall(processCpuSeconds(pids.worker), before.worker) };
}

/** GET /system/attestation (two sim workers make evidence) plus client-side verification of both. */
async function roundTripMs(platform: Platform): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const nonce = randomBytes(32);
    const started = performance.now();
    const answer = parseAttestationAnswer(await (await platform.api(`/system/attestation?nonce=${nonce.toString("hex")}`)).json());
    const key = new Uint8Array(Buffer.from(answer.workers[0]!.simPlatformKey!.key, "base64url"));
    const policy = parsePolicy({ tee: { sim: { measurements: answer.workers.map((worker) => worker.measurement) } } });
    const verdict = verifyAttestationAnswer(answer, { policy, nonce: new Uint8Array(nonce), trustAnchors: { sim: { platformKeys: [key] } } });
    times.push(performance.now() - started);
    if (!verdict.ok) throw new Error("attestation round trip did not verify");
  }
  return median(times);
}

/** Receipts per signed root since `since`: how many calls one signature served, on average. */
async function receiptsPerSignature(platform: Platform, since: string): Promise<number> {
  const receipts = (await (await platform.api(`/system/receipts?since=${encodeURIComponent(since)}&limit=100000`)).json()) as Array<{ proof: { root?: string } }>;
  return receipts.length / Math.max(1, new Set(receipts.map((receipt) => receipt.proof.root)).size);
}

async function run({ seconds, progress }: BenchOptions): Promise<SuiteResult> {
  const verification = await verificationTimes(progress);
  progress("receipt path in process");
  const receiptPath = { off: await receiptPathUs("off"), each: await receiptPathUs("each"), batched: await receiptPathUs("batched") };
  const roundMs = seconds * 1000;
  const platforms = {} as Record<Mode, Platform>;
  let twoWorkers: Platform | undefined;
  try {
    for (const mode of MODES) platforms[mode] = await startPlatform({ workers: 1, env: { TFAAS_RECEIPTS: mode } });
    const echo = await watFixture("echo");
    for (const mode of MODES) await deploy(platforms[mode], "echo", echo);
    twoWorkers = await startPlatform({ workers: 2 });
    const attestationRoundTripMs = await roundTripMs(twoWorkers);
    await twoWorkers.dispose();
    twoWorkers = undefined;

    progress("warming up…");
    for (const mode of MODES) await runLoad(`${platforms[mode].url}/function/echo`, body, CONCURRENCY, 1000);
    const rounds: Record<Mode, Round[]> = { off: [], each: [], batched: [] };
    let batchSize = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (let i = 0; i < MODES.length; i++) {
        const mode = MODES[(round + i) % MODES.length]!;
        progress(`round ${round}/${ROUNDS}: receipts ${mode}`);
        const since = new Date().toISOString();
        rounds[mode].push(await loadRound(platforms[mode], roundMs));
        if (mode === "batched" && round === ROUNDS) batchSize = await receiptsPerSignature(platforms.batched, since);
      }
    }
    const runs = Object.fromEntries(MODES.map((mode) => [mode, rounds[mode].map((r) => r.load)])) as Record<Mode, LoadResult[]>;
    const rps = Object.fromEntries(MODES.map((mode) => [mode, median(runs[mode].map((r) => r.rps))])) as Record<Mode, number>;
    const p50 = Object.fromEntries(MODES.map((mode) => [mode, median(runs[mode].map((r) => r.p50Ms))])) as Record<Mode, number>;
    const p99 = Object.fromEntries(MODES.map((mode) => [mode, median(runs[mode].map((r) => r.p99Ms))])) as Record<Mode, number>;
    const cpuMedian = (mode: Mode, key: "gatewayCpuUs" | "workerCpuUs") => {
      const values = rounds[mode].map((r) => r[key]).filter((v): v is number => v !== null);
      return values.length === 0 ? null : median(values);
    };
    const cpuUs = Object.fromEntries(MODES.map((mode) => [mode, { gateway: cpuMedian(mode, "gatewayCpuUs"), worker: cpuMedian(mode, "workerCpuUs") }])) as Record<Mode, { gateway: number | null; worker: number | null }>;
    const errors = MODES.reduce((sum, mode) => sum + runs[mode].reduce((s, r) => s + r.errors, 0), 0);
    const overheadUs = (mode: Mode) => 1e6 / rps[mode] - 1e6 / rps.off;
    const loss = (mode: Mode) => 1 - rps[mode] / rps.off;
    const report = {
      benchmark: "attestation-and-receipts",
      verificationMs: verification,
      attestationRoundTripMs,
      receiptPathUsPerCall: { ...receiptPath, eachOverhead: receiptPath.each - receiptPath.off, batchedOverhead: receiptPath.batched - receiptPath.off },
      invoke: {
        concurrency: CONCURRENCY,
        workers: 1,
        rounds: ROUNDS,
        roundSeconds: seconds,
        rps,
        p50Ms: p50,
        p99Ms: p99,
        cpuUsPerCall: cpuUs,
        errors,
        overheadUsPerCall: { each: overheadUs("each"), batched: overheadUs("batched") },
        throughputLoss: { each: loss("each"), batched: loss("batched") },
        batchedReceiptsPerSignature: batchSize,
      },
      targets: { batchedOverheadUsPerCall: 20, batchedThroughputLoss: 0.05 },
    };
    const cpuText = (value: number | null) => (value === null ? "n/a" : value.toFixed(1));
    const ms = (value: number | null) => (value === null ? "(samples absent)" : `${value.toFixed(3)} ms`);
    const table = [
      `evidence verification, median of ${VERIFY_RUNS}: sim ${ms(verification.simMs ?? null)}, SEV-SNP ${ms(verification.sevSnpMs ?? null)}, TDX ${ms(verification.tdxMs ?? null)}`,
      `GET /system/attestation + verify 2 sim workers, median of 30: ${attestationRoundTripMs.toFixed(2)} ms`,
      `worker receipt path, CPU µs per call (bursts of ${PATH_BURST}, median of 5 × ${PATH_CALLS}): off ${receiptPath.off.toFixed(1)}, each ${receiptPath.each.toFixed(1)}, batched ${receiptPath.batched.toFixed(1)} (batched overhead ${(receiptPath.batched - receiptPath.off).toFixed(1)}; target ≤ 20)`,
      `warm sync echo, 1 worker, concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds × ${seconds}s (medians)`,
      `${"receipts".padEnd(10)} ${"req/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"µs/call vs off".padStart(15)} ${"loss".padStart(7)} ${"gateway CPU µs".padStart(15)} ${"worker CPU µs".padStart(14)}`,
      ...MODES.map(
        (mode) =>
          `${mode.padEnd(10)} ${rps[mode].toFixed(0).padStart(9)} ${p50[mode].toFixed(2).padStart(8)} ${p99[mode].toFixed(2).padStart(8)} ${(mode === "off" ? "" : overheadUs(mode).toFixed(1)).padStart(15)} ${(mode === "off" ? "" : `${(loss(mode) * 100).toFixed(1)}%`).padStart(7)} ${cpuText(cpuUs[mode].gateway).padStart(15)} ${cpuText(cpuUs[mode].worker).padStart(14)}`,
      ),
      `batched: ${batchSize.toFixed(1)} receipts per signature in the last round; targets ≤ 20 µs per call and ≤ 5% throughput loss; errors ${errors}`,
    ];
    return { table, json: report };
  } finally {
    for (const platform of [...Object.values(platforms), ...(twoWorkers ? [twoWorkers] : [])]) await platform.dispose();
  }
}

export const attestationSuite: Suite = {
  name: "attestation",
  description: "evidence verification (sim, SEV-SNP, TDX), attestation round trip, sync invoke throughput with receipts off / each / batched",
  run,
};
