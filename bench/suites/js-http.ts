/**
 * JavaScript functions through a running platform (`tfaas up`, 2 workers): what a caller sees
 * after a deploy, for TFAAS_JS_PREWARM default (`quickjs,v8`) and `none` (how workers behaved
 * before they started engines early):
 * - at start: functions deployed the moment the platform answers, on a fresh data directory (no
 *   QuickJS engine cache yet); whatever engine start-up is not done, the first call waits for;
 * - after idle: each engine's first function and further functions (deploy answered → first
 *   response), warm p50 (one client, sequential, after 1 s of calls from 8 clients), and the
 *   workers' resident memory before any deploy (what starting engines early costs every worker).
 */
import { readFileSync, rmSync } from "node:fs";
import { deploy, startPlatform, watFixture, type Platform } from "../../test/harness.js";
import { median, runLoad } from "../load.js";

const HELLO = `export default { async fetch(request) { return new Response("hello " + (await request.text())); } };`;
/** New functions deployed per engine for the first-call median (single samples are noisy on a shared machine). */
const FURTHER_FUNCTIONS = 5;
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `variant` makes the source (and so the artifact) differ, so nothing is reused from an earlier deploy. */
async function deployJs(platform: Platform, service: string, engine: "quickjs" | "v8", variant = 0): Promise<void> {
  const upload = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/javascript" }, body: `${HELLO}\n// ${variant}` });
  if (upload.status !== 201) throw new Error(`upload failed: ${upload.status} ${await upload.text()}`);
  const { digest } = (await upload.json()) as { digest: string };
  const res = await platform.api("/system/functions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ service, image: digest, annotations: { "com.tfaas.engine": engine } }),
  });
  if (res.status !== 202) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
}

async function call(platform: Platform, service: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${platform.url}/function/${service}`, { method: "POST", body: "bench" });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${service} answered ${res.status}: ${text}`);
  return performance.now() - started;
}

/** The platform's worker processes (its other children, e.g. esbuild's service, are left out). */
const workerPids = (platform: Platform) => platform.workerPids().filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("worker"));

/** Sum of the workers' resident set sizes, in MiB. */
function workersRssMb(platform: Platform): number {
  let kb = 0;
  for (const pid of workerPids(platform)) {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    kb += Number(match?.[1] ?? 0);
  }
  return kb / 1024;
}

export interface HttpEngineRow {
  engine: string;
  /** The first function of this engine on the platform: deploy answered (202) → first response. */
  firstFunctionMs: number;
  /** Deploy answered → first response; median over FURTHER_FUNCTIONS more new functions. */
  furtherFunctionMs: number;
  /** One client on a keep-alive connection (the load generator every suite uses), calls back to back, after a warm-up. */
  warmP50Ms: number;
}

export interface HttpRun {
  prewarm: string;
  /** Deployed the moment the platform answers: upload+deploy (202), then the first response. */
  atStart: { quickjsDeployMs: number; quickjsFirstCallMs: number; v8FirstCallMs: number };
  /** After IDLE_MS of an idle platform (the usual case: a platform runs before functions come). */
  engines: HttpEngineRow[];
  /** The workers' resident memory after IDLE_MS idle, before any deploy: what starting engines early costs. */
  idleWorkersRssMb: number;
  workers: number;
}

const IDLE_MS = 3000;
/** Calls from 8 clients before warm latency is measured. */
const WARM_UP_MS = 1000;

async function timedCall(platform: Platform, service: string, deployFn: () => Promise<void>): Promise<number> {
  await deployFn();
  return call(platform, service);
}

/** A platform's first functions, deployed the moment it answers. */
async function measureAtStart(platform: Platform): Promise<HttpRun["atStart"]> {
  const started = performance.now();
  await deployJs(platform, "start-quickjs", "quickjs");
  const quickjsDeployMs = performance.now() - started;
  await call(platform, "start-quickjs");
  const quickjsFirstCallMs = performance.now() - started - quickjsDeployMs;
  const v8FirstCallMs = await timedCall(platform, "start-v8", () => deployJs(platform, "start-v8", "v8"));
  return { quickjsDeployMs, quickjsFirstCallMs, v8FirstCallMs };
}

/** A platform idle for IDLE_MS, then each engine's first function, further functions, warm latency. */
async function measureAfterIdle(platform: Platform, warmSeconds: number, echo: Uint8Array<ArrayBuffer>): Promise<{ engines: HttpEngineRow[]; idleWorkersRssMb: number }> {
  await settle(IDLE_MS);
  const idleWorkersRssMb = workersRssMb(platform);
  const engines: HttpEngineRow[] = [];
  for (const engine of ["wasm", "quickjs", "v8"] as const) {
    const firstCalls: number[] = [];
    for (let i = 0; i <= FURTHER_FUNCTIONS; i++) {
      const service = `idle-${engine}-${i}`;
      firstCalls.push(await timedCall(platform, service, () => (engine === "wasm" ? deploy(platform, service, echo).then(() => undefined) : deployJs(platform, service, engine, i))));
    }
    // Warm means steady state: the gateway's and the worker's call path optimised by V8. In the
    // first seconds after a deploy a lone client's p50 is about twice that (0.71–0.75 against
    // 0.35–0.39 ms for the wasm echo).
    const target = `${platform.url}/function/idle-${engine}-0`;
    await runLoad(target, Buffer.from("bench"), 8, WARM_UP_MS);
    const warm = await runLoad(target, Buffer.from("bench"), 1, warmSeconds * 1000);
    if (warm.errors > 0) throw new Error(`idle-${engine}-0 failed ${warm.errors} warm calls`);
    engines.push({ engine, firstFunctionMs: firstCalls[0]!, furtherFunctionMs: median(firstCalls.slice(1)), warmP50Ms: warm.p50Ms });
  }
  return { engines, idleWorkersRssMb };
}

/**
 * Per TFAAS_JS_PREWARM setting (default and `none`), two platforms: one deployed to at once, one
 * after it idled. The `none` platforms share a data directory: the first writes the engine cache,
 * so the idle one shows `none` with the cache present (default: every platform starts fresh).
 */
export async function measureHttp(warmSeconds: number, progress: (line: string) => void): Promise<HttpRun[]> {
  const echo = await watFixture("echo");
  const runs: HttpRun[] = [];
  for (const prewarm of ["quickjs,v8", "none"] as const) {
    progress(`js over HTTP: TFAAS_JS_PREWARM=${prewarm}, deploying at start`);
    const first = await startPlatform({ workers: 2, env: { TFAAS_JS_PREWARM: prewarm } });
    let atStart: HttpRun["atStart"];
    try {
      atStart = await measureAtStart(first);
      // Removed, so the next platform on this data directory starts with no function to load.
      for (const functionName of ["start-quickjs", "start-v8"]) {
        await first.api("/system/functions", { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ functionName }) });
      }
    } finally {
      await first.stop();
    }
    progress(`js over HTTP: TFAAS_JS_PREWARM=${prewarm}, deploying after ${IDLE_MS} ms idle`);
    const second = await startPlatform({ workers: 2, env: { TFAAS_JS_PREWARM: prewarm }, ...(prewarm === "none" ? { dataDir: first.dataDir } : {}) });
    try {
      const idle = await measureAfterIdle(second, warmSeconds, echo);
      runs.push({ prewarm: prewarm === "none" ? "none (cache present)" : `${prewarm} (default)`, atStart, ...idle, workers: workerPids(second).length });
    } finally {
      await second.dispose();
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  }
  return runs;
}
