/**
 * `npm run bench [-- --json] [-- --seconds N]`: warm sync invocation of the echo function over
 * HTTP at concurrency 32 against a bare Node http server returning the same bytes, measured in
 * the same run in alternating rounds (medians), plus cold-start latency. Prints a table for
 * people, or JSON for machines with --json.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { deploy, startPlatform, watFixture } from "../test/harness.js";
import { median, percentile, runLoad, type LoadResult } from "./load.js";

const args = process.argv.slice(2);
const asJson = args.includes("--json");
const secondsFlag = args.indexOf("--seconds");
const roundMs = (secondsFlag >= 0 ? Number(args[secondsFlag + 1]) : 5) * 1000;
const ROUNDS = 3;
const CONCURRENCY = 32;
const COLD_SAMPLES = 15;
const body = Buffer.from("hello, tfaas\n");

function progress(line: string): void {
  if (!asJson) process.stderr.write(line + "\n");
}

async function startBareServer(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./bare-server.ts", import.meta.url))], {
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

async function main(): Promise<void> {
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
      machine: { cpus: (await import("node:os")).availableParallelism(), node: process.version },
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
    if (asJson) {
      process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    } else {
      const row = (name: string, s: ReturnType<typeof summarize>) =>
        `${name.padEnd(22)} ${s.rps.toFixed(0).padStart(9)} ${s.p50Ms.toFixed(2).padStart(8)} ${s.p99Ms.toFixed(2).padStart(8)} ${String(s.errors).padStart(7)}`;
      console.log(`warm sync invocation, concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${roundMs / 1000}s (medians)`);
      console.log(`${"target".padEnd(22)} ${"req/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)}`);
      console.log(row("bare node http", bareSummary));
      console.log(row("tfaas echo (wasm)", tfaasSummary));
      console.log(`ratio tfaas/bare req/s: ${report.ratio.rps.toFixed(3)} (target ≥ 0.5)`);
      console.log(`cold start p50: first call after deploy ${report.coldStart.afterDeployP50Ms.toFixed(2)} ms, from zero replicas ${report.coldStart.fromZeroP50Ms.toFixed(2)} ms (target ≤ 5 ms)`);
    }
  } finally {
    bare.stop();
    await platform.dispose();
  }
}

await main();
