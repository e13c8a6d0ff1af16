/**
 * Warm sync invocation of the echo function over HTTP at concurrency 32 against a bare Node http
 * server returning the same bytes, measured in the same run in alternating rounds (medians),
 * plus cold-start latency.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deploy, startPlatform, watFixture } from "../../test/harness.js";
import { median, percentile, runLoad, type LoadResult } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const ROUNDS = 3;
const CONCURRENCY = 32;
const COLD_SAMPLES = 15;
const body = Buffer.from("hello, tfaas\n");

async function startBareServer(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../bare-server.ts", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready: (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return { url, stop: () => child.kill("SIGKILL") };
}

function summarize(results: LoadResult[]) {
  return {
    rps: median(results.map((r) => r.rps)),
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    rounds: results.length,
  };
}

async function run({ seconds, progress }: BenchOptions): Promise<SuiteResult> {
  const roundMs = seconds * 1000;
  const bare = await startBareServer();
  const platform = await startPlatform({ workers: 2 });
  try {
    const echo = await watFixture("echo");
    await deploy(platform, "echo", echo);
    const fnUrl = `${platform.url}/function/echo`;

    progress("warming up…");
    await runLoad(bare.url, body, CONCURRENCY, 1000);
    await runLoad(fnUrl, body, CONCURRENCY, 1000);
    const bareRuns: LoadResult[] = [];
    const tfaasRuns: LoadResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      progress(`round ${round}/${ROUNDS}: bare server`);
      bareRuns.push(await runLoad(bare.url, body, CONCURRENCY, roundMs));
      progress(`round ${round}/${ROUNDS}: tfaas echo`);
      tfaasRuns.push(await runLoad(fnUrl, body, CONCURRENCY, roundMs));
    }

    progress("cold starts…");
    const afterDeploy: number[] = [];
    const fromZero: number[] = [];
    for (let i = 0; i < COLD_SAMPLES; i++) {
      const name = `cold-${i}`;
      await deploy(platform, name, echo);
      let started = performance.now();
      let res = await fetch(`${platform.url}/function/${name}`, { method: "POST", body });
      afterDeploy.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`cold call failed: ${res.status}`);
      await platform.api(`/system/scale-function/${name}`, { method: "POST", body: JSON.stringify({ replicas: 0 }) });
      started = performance.now();
      res = await fetch(`${platform.url}/function/${name}`, { method: "POST", body });
      fromZero.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`scale-from-zero call failed: ${res.status}`);
    }

    const bareSummary = summarize(bareRuns);
    const tfaasSummary = summarize(tfaasRuns);
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const report = {
      benchmark: "warm-sync-echo",
      concurrency: CONCURRENCY,
      roundSeconds: roundMs / 1000,
      baseline: bareSummary,
      tfaas: tfaasSummary,
      ratio: { rps: tfaasSummary.rps / bareSummary.rps },
      coldStart: {
        afterDeployP50Ms: percentile(sorted(afterDeploy), 50),
        fromZeroP50Ms: percentile(sorted(fromZero), 50),
        samples: COLD_SAMPLES,
      },
      targets: { rpsRatio: 0.5, p99Ms: 5, coldStartMs: 5 },
    };
    const row = (name: string, s: ReturnType<typeof summarize>) =>
      `${name.padEnd(22)} ${s.rps.toFixed(0).padStart(9)} ${s.p50Ms.toFixed(2).padStart(8)} ${s.p99Ms.toFixed(2).padStart(8)} ${String(s.errors).padStart(7)}`;
    const table = [
      `warm sync invocation, concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${roundMs / 1000}s (medians)`,
      `${"target".padEnd(22)} ${"req/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`,
      row("bare node http", bareSummary),
      row("tfaas echo (wasm)", tfaasSummary),
      `ratio tfaas/bare req/s: ${report.ratio.rps.toFixed(3)} (target ≥ 0.5)`,
      `cold start p50: first call after deploy ${report.coldStart.afterDeployP50Ms.toFixed(2)} ms, from zero replicas ${report.coldStart.fromZeroP50Ms.toFixed(2)} ms (target ≤ 5 ms)`,
    ];
    return { table, json: report };
  } finally {
    bare.stop();
    await platform.dispose();
  }
}

export const invokeSuite: Suite = {
  name: "invoke",
  description: "warm sync invocation vs a bare Node http server; cold starts",
  run,
};
