/**
 * Asynchronous invocation: 10,000 trivial calls (echo) enqueued at concurrency 32, measuring the
 * enqueue rate (202s per second, each durable in SQLite first) and the end-to-end completion
 * rate (until the 10,000th result callback has arrived at a loopback receiver). Baseline, in
 * the same run: the same 10,000 calls made synchronously at the same concurrency, in alternating
 * rounds; medians reported.
 */
import { deploy, startPlatform, watFixture } from "../../test/harness.js";
import { startCallbackCounter } from "../callback-counter.js";
import { median, runCalls } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const CALLS = 10_000;
const CONCURRENCY = 32;
const ROUNDS = 3;
const body = Buffer.from("hello, tfaas\n");

async function run({ progress }: BenchOptions): Promise<SuiteResult> {
  const counter = await startCallbackCounter();
  const platform = await startPlatform({ workers: 2, env: { TFAAS_ASYNC_CONCURRENCY: String(CONCURRENCY) } });
  try {
    await deploy(platform, "echo", await watFixture("echo"), { annotations: { "com.tfaas.async.concurrency": String(CONCURRENCY) } });
    progress("warming up…");
    await runCalls(`${platform.url}/function/echo`, body, 1000, CONCURRENCY, 200);
    const syncRuns: Array<{ seconds: number; rps: number }> = [];
    const asyncRuns: Array<{ enqueueSeconds: number; enqueueRps: number; completionSeconds: number; completionRps: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}/${ROUNDS}: ${CALLS} sync calls`);
      const sync = await runCalls(`${platform.url}/function/echo`, body, CALLS, CONCURRENCY, 200);
      if (sync.ok !== CALLS) throw new Error(`sync round ${round}: only ${sync.ok} of ${CALLS} calls answered 200`);
      syncRuns.push({ seconds: sync.seconds, rps: CALLS / sync.seconds });

      progress(`round ${round}/${ROUNDS}: ${CALLS} async calls with callbacks`);
      const allReported = counter.expect(CALLS);
      const started = performance.now();
      const enqueue = await runCalls(`${platform.url}/async-function/echo`, body, CALLS, CONCURRENCY, 202, { "x-callback-url": counter.url });
      if (enqueue.ok !== CALLS) throw new Error(`async round ${round}: only ${enqueue.ok} of ${CALLS} calls answered 202`);
      const completed = await Promise.race([
        allReported,
        new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`async round ${round}: not every callback arrived within 5 minutes`)), 300_000).unref()),
      ]);
      const completionSeconds = (completed - started) / 1000;
      asyncRuns.push({ enqueueSeconds: enqueue.seconds, enqueueRps: CALLS / enqueue.seconds, completionSeconds, completionRps: CALLS / completionSeconds });
    }
    const baseline = { rps: median(syncRuns.map((r) => r.rps)), seconds: median(syncRuns.map((r) => r.seconds)) };
    const queued = {
      enqueueRps: median(asyncRuns.map((r) => r.enqueueRps)),
      enqueueSeconds: median(asyncRuns.map((r) => r.enqueueSeconds)),
      completionRps: median(asyncRuns.map((r) => r.completionRps)),
      completionSeconds: median(asyncRuns.map((r) => r.completionSeconds)),
    };
    const report = {
      benchmark: "async-10k-echo",
      calls: CALLS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      baseline: { sync: baseline },
      async: queued,
      ratio: { enqueueVsSync: queued.enqueueRps / baseline.rps, completionVsSync: queued.completionRps / baseline.rps },
      runs: { sync: syncRuns, async: asyncRuns },
    };
    const row = (label: string, rps: number, seconds: number) => `${label.padEnd(40)} ${rps.toFixed(0).padStart(9)} ${seconds.toFixed(2).padStart(9)}`;
    const table = [
      `${CALLS} echo calls at concurrency ${CONCURRENCY}, ${ROUNDS} rounds (medians)`,
      `${"".padEnd(40)} ${"calls/s".padStart(9)} ${"seconds".padStart(9)}`,
      row("sync /function/echo (baseline)", baseline.rps, baseline.seconds),
      row("async enqueue (202, durable)", queued.enqueueRps, queued.enqueueSeconds),
      row("async end to end (callback received)", queued.completionRps, queued.completionSeconds),
      `ratios vs sync: enqueue ${report.ratio.enqueueVsSync.toFixed(2)}, end to end ${report.ratio.completionVsSync.toFixed(2)}`,
    ];
    return { table, json: report };
  } finally {
    counter.close();
    await platform.dispose();
  }
}

export const asyncSuite: Suite = {
  name: "async",
  description: "10,000 async calls: enqueue rate and end-to-end completion vs the same calls made synchronously",
  run,
};
