/**
 * Receipt cost per call, signed `each` vs `batched` (64 per root), against a no-receipt baseline
 * measured in the same run, alternating rounds, medians. A call's receipt work is what the worker
 * adds to it: hashing the request and response bodies, issuing the receipt, encoding the header.
 * Calls are issued back to back, 256 in flight, without awaiting their receipts, as a busy
 * worker does, so batches close by count. Both wall time and process CPU time are reported:
 * on a shared machine CPU time is the steadier measure of what receipts cost. Also: latency of
 * one lone call, verification cost, header sizes.
 */
import {
  bodyDigest,
  encodeReceiptHeader,
  generateSigningKeyPair,
  ReceiptSigner,
  verifyChain,
  verifyReceipt,
  type ReceiptInput,
  type ReceiptMode,
  type SignedReceipt,
} from "../../src/crypto/index.js";
import { hash, sign } from "node:crypto";
import { median } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const ROUNDS = 7;
const CALLS_PER_ROUND = 8192;
const IN_FLIGHT = 256;
const BATCH_SIZE = 64;
const LONE_CALLS = 25;
const VERIFY_SAMPLE = 1024;
const TARGET_BATCHED_US = 20;

const requestBody = Buffer.from("hello, tfaas\n");
const responseBody = Buffer.from("hello, tfaas\n");
const artifactDigest = bodyDigest(Buffer.from("echo.wasm"));
const { privateKey, publicKey } = generateSigningKeyPair();

/** The facts a worker has after a call; the baseline builds them too and stops there. */
function usageOf(i: number): Omit<ReceiptInput, "requestDigest" | "responseDigest"> {
  return {
    callId: `3f1c2a9e-6b7d-4e21-9a55-${i.toString(16).padStart(12, "0")}`,
    function: "echo.openfaas-fn",
    artifactDigest,
    usage: { fuel: String(41_000 + (i % 97)), memoryPeakBytes: 131_072, ioBytesIn: requestBody.length, ioBytesOut: responseBody.length, wallNanos: 180_000 + i, weightsVersion: "v1" },
    status: 200,
  };
}

function call(i: number, signer: ReceiptSigner | null): Promise<unknown> {
  const facts = usageOf(i);
  if (signer === null) return Promise.resolve(facts);
  return signer.issue({ ...facts, requestDigest: bodyDigest(requestBody), responseDigest: bodyDigest(responseBody) }).then(encodeReceiptHeader);
}

interface PerCall {
  wallUs: number;
  cpuUs: number;
}

/** CPU µs of one Ed25519 signature and one SHA-256 of a receipt-sized input: this machine's scale, measured in the same run. */
function reference(): { ed25519SignUs: number; sha256Us: number } {
  const message = Buffer.alloc(300, 7);
  const cpuUs = (count: number, fn: () => void) => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < count; i++) fn();
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / count;
  };
  const signs: number[] = [];
  const hashes: number[] = [];
  for (let round = 0; round < 5; round++) {
    signs.push(cpuUs(500, () => sign(null, message, privateKey)));
    hashes.push(cpuUs(20_000, () => hash("sha256", message, "buffer")));
  }
  return { ed25519SignUs: median(signs), sha256Us: median(hashes) };
}

/** µs per call (wall and CPU) for `count` calls issued back to back, IN_FLIGHT at a time. */
async function perCall(count: number, signer: () => ReceiptSigner | null): Promise<PerCall> {
  const s = signer();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let first = 0; first < count; first += IN_FLIGHT) {
    const pending: Promise<unknown>[] = [];
    for (let i = first; i < Math.min(count, first + IN_FLIGHT); i++) pending.push(call(i, s));
    await Promise.all(pending);
  }
  s?.close();
  const wallUs = ((performance.now() - started) * 1000) / count;
  const used = process.cpuUsage(cpu);
  return { wallUs, cpuUs: (used.user + used.system) / count };
}

async function loneLatencyUs(mode: ReceiptMode, flushWhenIdle: boolean): Promise<number> {
  const signer = new ReceiptSigner({ workerId: "bench", privateKey, mode, batchSize: BATCH_SIZE });
  const samples: number[] = [];
  for (let i = 0; i < LONE_CALLS; i++) {
    const started = performance.now();
    const receipt = call(i, signer);
    if (flushWhenIdle) signer.flush();
    await receipt;
    samples.push((performance.now() - started) * 1000);
  }
  signer.close();
  return median(samples);
}

function timeUs(count: number, fn: () => void): number {
  const started = performance.now();
  fn();
  return ((performance.now() - started) * 1000) / count;
}

async function issue(mode: ReceiptMode, count: number, batchSize = BATCH_SIZE): Promise<SignedReceipt[]> {
  const signer = new ReceiptSigner({ workerId: "bench", privateKey, mode, batchSize });
  const receipts = await Promise.all(Array.from({ length: count }, (_, i) => signer.issue({ ...usageOf(i), requestDigest: bodyDigest(requestBody), responseDigest: bodyDigest(responseBody) })));
  signer.close();
  return receipts;
}

async function run({ progress }: BenchOptions): Promise<SuiteResult> {
  const makeSigner = (mode: ReceiptMode) => () => new ReceiptSigner({ workerId: "bench", privateKey, mode, batchSize: BATCH_SIZE });
  const variants = { baseline: () => null, each: makeSigner("each"), batched: makeSigner("batched") } as const;
  const samples: Record<keyof typeof variants, PerCall[]> = { baseline: [], each: [], batched: [] };

  progress("warming up…");
  for (const make of Object.values(variants)) await perCall(CALLS_PER_ROUND / 4, make);
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round}/${ROUNDS}: ${CALLS_PER_ROUND} calls per variant`);
    for (const [name, make] of Object.entries(variants) as Array<[keyof typeof variants, () => ReceiptSigner | null]>) {
      samples[name].push(await perCall(CALLS_PER_ROUND, make));
    }
  }
  const medianOf = (name: keyof typeof variants, key: keyof PerCall) => median(samples[name].map((sample) => sample[key]));
  const perCallUs = { baseline: medianOf("baseline", "wallUs"), each: medianOf("each", "wallUs"), batched: medianOf("batched", "wallUs") };
  const perCallCpuUs = { baseline: medianOf("baseline", "cpuUs"), each: medianOf("each", "cpuUs"), batched: medianOf("batched", "cpuUs") };
  const overheadUs = { each: perCallUs.each - perCallUs.baseline, batched: perCallUs.batched - perCallUs.baseline };
  const overheadCpuUs = { each: perCallCpuUs.each - perCallCpuUs.baseline, batched: perCallCpuUs.batched - perCallCpuUs.baseline };

  progress("reference costs…");
  const scale = reference();

  progress("latency of a lone call…");
  const lone = {
    eachUs: await loneLatencyUs("each", false),
    batchedUs: await loneLatencyUs("batched", false),
    batchedFlushWhenIdleUs: await loneLatencyUs("batched", true),
  };

  progress("verification…");
  const eachReceipts = await issue("each", VERIFY_SAMPLE);
  const batchedReceipts = await issue("batched", VERIFY_SAMPLE);
  const verifyRounds = { eachReceipt: [] as number[], batchedReceipt: [] as number[], eachChain: [] as number[], batchedChain: [] as number[] };
  verifyChain(eachReceipts, publicKey);
  verifyChain(batchedReceipts, publicKey);
  for (let round = 0; round < 5; round++) {
    verifyRounds.eachReceipt.push(timeUs(VERIFY_SAMPLE, () => eachReceipts.forEach((r) => verifyReceipt(r, { publicKey }))));
    verifyRounds.batchedReceipt.push(timeUs(VERIFY_SAMPLE, () => batchedReceipts.forEach((r) => verifyReceipt(r, { publicKey }))));
    verifyRounds.eachChain.push(timeUs(VERIFY_SAMPLE, () => verifyChain(eachReceipts, publicKey)));
    verifyRounds.batchedChain.push(timeUs(VERIFY_SAMPLE, () => verifyChain(batchedReceipts, publicKey)));
  }
  const verifyUs = {
    eachReceipt: median(verifyRounds.eachReceipt),
    batchedReceiptAlone: median(verifyRounds.batchedReceipt),
    eachChainPerReceipt: median(verifyRounds.eachChain),
    batchedChainPerReceipt: median(verifyRounds.batchedChain),
    batchedChainPerBatch: median(verifyRounds.batchedChain) * BATCH_SIZE,
  };

  const deep = await issue("batched", 1024, 1024);
  const headerChars = {
    each: encodeReceiptHeader(eachReceipts[1]!).length,
    batched64: encodeReceiptHeader(batchedReceipts[1]!).length,
    batched1024: encodeReceiptHeader(deep[1]!).length,
    jsonEach: JSON.stringify(eachReceipts[1]).length,
    jsonBatched64: JSON.stringify(batchedReceipts[1]).length,
  };

  const report = {
    benchmark: "receipts",
    callsPerRound: CALLS_PER_ROUND,
    rounds: ROUNDS,
    batchSize: BATCH_SIZE,
    inFlight: IN_FLIGHT,
    perCallUs,
    overheadUs,
    perCallCpuUs,
    overheadCpuUs,
    reference: scale,
    ratio: { each: perCallUs.each / perCallUs.baseline, batched: perCallUs.batched / perCallUs.baseline },
    loneCallLatencyUs: lone,
    verifyUs,
    headerChars,
    targets: { batchedOverheadUs: TARGET_BATCHED_US },
    met: { batchedOverheadUs: overheadUs.batched <= TARGET_BATCHED_US, batchedOverheadCpuUs: overheadCpuUs.batched <= TARGET_BATCHED_US },
  };
  const us = (v: number) => v.toFixed(2).padStart(9);
  const table = [
    `per call, ${CALLS_PER_ROUND} calls back to back (${IN_FLIGHT} in flight), ${ROUNDS} alternating rounds (medians)`,
    `${"variant".padEnd(26)} ${"wall µs".padStart(9)} ${"overhead".padStart(9)} ${"CPU µs".padStart(9)} ${"overhead".padStart(9)}`,
    `${"no receipt (baseline)".padEnd(26)} ${us(perCallUs.baseline)} ${"".padStart(9)} ${us(perCallCpuUs.baseline)}`,
    `${"signed each".padEnd(26)} ${us(perCallUs.each)} ${us(overheadUs.each)} ${us(perCallCpuUs.each)} ${us(overheadCpuUs.each)}`,
    `${`batched (${BATCH_SIZE} per root)`.padEnd(26)} ${us(perCallUs.batched)} ${us(overheadUs.batched)} ${us(perCallCpuUs.batched)} ${us(overheadCpuUs.batched)}`,
    `batched overhead per call: wall ${overheadUs.batched.toFixed(2)} µs, CPU ${overheadCpuUs.batched.toFixed(2)} µs (target ≤ ${TARGET_BATCHED_US}: ` +
      `wall ${report.met.batchedOverheadUs ? "met" : "NOT met"}, CPU ${report.met.batchedOverheadCpuUs ? "met" : "NOT met"})`,
    `this machine, same run: one Ed25519 signature ${scale.ed25519SignUs.toFixed(1)} µs CPU, one SHA-256 of 300 bytes ${scale.sha256Us.toFixed(2)} µs CPU ` +
      `(batched overhead = ${(overheadCpuUs.batched / scale.sha256Us).toFixed(1)} SHA-256s)`,
    `lone call latency: each ${lone.eachUs.toFixed(0)} µs, batched ${(lone.batchedUs / 1000).toFixed(2)} ms (closed by the timer), batched with flush when idle ${lone.batchedFlushWhenIdleUs.toFixed(0)} µs`,
    `verify: one receipt each ${verifyUs.eachReceipt.toFixed(1)} µs, one batched receipt alone ${verifyUs.batchedReceiptAlone.toFixed(1)} µs; ` +
      `chain each ${verifyUs.eachChainPerReceipt.toFixed(1)} µs/receipt, chain batched ${verifyUs.batchedChainPerReceipt.toFixed(1)} µs/receipt (${verifyUs.batchedChainPerBatch.toFixed(0)} µs per batch of ${BATCH_SIZE})`,
    `X-Tfaas-Receipt: each ${headerChars.each} chars, batched/64 ${headerChars.batched64}, batched/1024 ${headerChars.batched1024}; JSON form each ${headerChars.jsonEach}, batched/64 ${headerChars.jsonBatched64} bytes`,
  ];
  return { table, json: report };
}

export const receiptsSuite: Suite = {
  name: "receipts",
  description: "per-call cost of signed receipts (each vs batched) against no receipts; verification cost; header size",
  run,
};
