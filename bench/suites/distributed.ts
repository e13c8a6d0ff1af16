/**
 * Distributed mode on this machine: warm synchronous echo calls (closed loop, concurrency 16)
 * through 1 gateway + 1 worker and 1 gateway + 2 workers over NATS, and the async completion
 * rate (2,000 calls, until the last callback) through 1 gateway + 2 workers, each against
 * embedded mode with the same number of workers, measured in the same run in alternating
 * rounds; medians reported. Needs nats-server (test/nats/launcher.ts).
 */
import { distributedSetup, type DistributedSetup } from "../../test/distributed-cluster.js";
import { deploy, startPlatform, watFixture, type Platform } from "../../test/harness.js";
import { NATS_SKIP_MESSAGE, natsServerMissing, startNatsServer, type NatsServer } from "../../test/nats/launcher.js";
import { startCallbackCounter, type CallbackCounter } from "../callback-counter.js";
import { median, runCalls, runLoad } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const CONCURRENCY = 16;
const ROUNDS = 3;
const ASYNC_CALLS = 2_000;
const body = Buffer.from("hello, tfaas\n");
const ASYNC_ENV = { TFAAS_ASYNC_CONCURRENCY: "32" };
const ECHO = { annotations: { "com.tfaas.async.concurrency": "32" } };

interface Target {
  label: string;
  gateway: Platform;
}

/** Enqueues `count` calls at concurrency 32; answers seconds until every callback arrived. */
async function asyncRound(gateway: Platform, counter: CallbackCounter, count: number): Promise<number> {
  const reported = counter.expect(count);
  const started = performance.now();
  const enqueue = await runCalls(`${gateway.url}/async-function/echo`, body, count, 32, 202, { "x-callback-url": counter.url });
  if (enqueue.ok !== count) throw new Error(`async round: only ${enqueue.ok} of ${count} calls answered 202`);
  const finished = await Promise.race([reported, new Promise<number>((_, reject) => setTimeout(() => reject(new Error("async round: callbacks missing after 5 minutes")), 300_000).unref())]);
  return (finished - started) / 1000;
}

async function run({ seconds, progress }: BenchOptions): Promise<SuiteResult> {
  if (natsServerMissing) throw new Error(NATS_SKIP_MESSAGE);
  const code = await watFixture("echo");
  const embedded: Platform[] = [];
  const servers: NatsServer[] = [];
  const setups: DistributedSetup[] = [];
  const counter = await startCallbackCounter();
  try {
    progress("starting embedded platforms (1 and 2 workers) and two NATS setups (1 gateway + 1 or 2 workers)…");
    const targets: Target[] = [];
    for (const workers of [1, 2]) {
      const platform = await startPlatform({ workers, env: ASYNC_ENV });
      embedded.push(platform);
      await deploy(platform, "echo", code, ECHO);
      targets.push({ label: `embedded, ${workers} worker${workers > 1 ? "s" : ""}`, gateway: platform });
    }
    for (const workers of [1, 2]) {
      const nats = await startNatsServer();
      servers.push(nats);
      const setup = distributedSetup(nats.url, ASYNC_ENV);
      setups.push(setup);
      const gateway = await setup.startGateway();
      for (let n = 1; n <= workers; n++) await setup.startWorker(`bench-w${n}`);
      await deploy(gateway, "echo", code, ECHO);
      targets.push({ label: `NATS, 1 gateway + ${workers} worker${workers > 1 ? "s" : ""}`, gateway });
    }
    progress("warming up…");
    for (const target of targets) await runLoad(`${target.gateway.url}/function/echo`, body, CONCURRENCY, 1_000);

    const sync = new Map<string, number[]>(targets.map((target) => [target.label, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of targets) {
        progress(`round ${round}/${ROUNDS}: sync, ${target.label}`);
        const result = await runLoad(`${target.gateway.url}/function/echo`, body, CONCURRENCY, seconds * 1000);
        if (result.errors > 0) throw new Error(`${target.label}: ${result.errors} calls failed`);
        sync.get(target.label)!.push(result.rps);
      }
    }
    const asyncTargets = [targets[1]!, targets[3]!];
    const asyncRuns = new Map<string, number[]>(asyncTargets.map((target) => [target.label, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of asyncTargets) {
        progress(`round ${round}/${ROUNDS}: ${ASYNC_CALLS} async calls, ${target.label}`);
        asyncRuns.get(target.label)!.push(ASYNC_CALLS / (await asyncRound(target.gateway, counter, ASYNC_CALLS)));
      }
    }

    const syncRps = Object.fromEntries([...sync].map(([label, runs]) => [label, median(runs)]));
    const asyncRps = Object.fromEntries([...asyncRuns].map(([label, runs]) => [label, median(runs)]));
    const [e1, e2, n1, n2] = targets.map((target) => syncRps[target.label]!) as [number, number, number, number];
    const [ae, an] = asyncTargets.map((target) => asyncRps[target.label]!) as [number, number];
    const report = {
      benchmark: "distributed-echo",
      concurrency: CONCURRENCY,
      secondsPerRound: seconds,
      rounds: ROUNDS,
      asyncCalls: ASYNC_CALLS,
      syncRps,
      asyncCompletionRps: asyncRps,
      ratio: {
        natsVsEmbedded1Worker: n1 / e1,
        natsVsEmbedded2Workers: n2 / e2,
        nats2WorkersVs1: n2 / n1,
        embedded2WorkersVs1: e2 / e1,
        asyncNatsVsEmbedded: an / ae,
      },
      runs: { sync: Object.fromEntries(sync), async: Object.fromEntries(asyncRuns) },
    };
    const row = (label: string, rps: number) => `${label.padEnd(44)} ${rps.toFixed(0).padStart(9)}`;
    const table = [
      `echo, closed loop at concurrency ${CONCURRENCY}, ${ROUNDS} rounds of ${seconds} s (medians)`,
      `${"sync".padEnd(44)} ${"calls/s".padStart(9)}`,
      ...targets.map((target) => row(target.label, syncRps[target.label]!)),
      `${`async, ${ASYNC_CALLS} calls until the last callback`.padEnd(44)} ${"calls/s".padStart(9)}`,
      ...asyncTargets.map((target) => row(target.label, asyncRps[target.label]!)),
      `ratios: NATS/embedded sync ${report.ratio.natsVsEmbedded1Worker.toFixed(2)} (1 worker), ${report.ratio.natsVsEmbedded2Workers.toFixed(2)} (2 workers); ` +
        `2 vs 1 workers: NATS ${report.ratio.nats2WorkersVs1.toFixed(2)}, embedded ${report.ratio.embedded2WorkersVs1.toFixed(2)}; async NATS/embedded ${report.ratio.asyncNatsVsEmbedded.toFixed(2)}`,
    ];
    return { table, json: report };
  } finally {
    counter.close();
    await Promise.all([...embedded.map((platform) => platform.dispose()), ...setups.map((setup) => setup.dispose())]);
    await Promise.all(servers.map((server) => server.stop()));
  }
}

export const distributedSuite: Suite = {
  name: "distributed",
  description: "sync throughput through NATS with 1 and 2 workers, and async completion, vs embedded mode with the same workers",
  run,
};
