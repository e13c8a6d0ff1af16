/**
 * Starting the JavaScript engines when a worker starts, before any function is deployed, so no
 * caller waits for an engine: QuickJS (the instrumented engine from the machine's cache,
 * compiled, its instance set up and warmed) and V8 (warm isolates for the default memory limit).
 *
 * TFAAS_JS_PREWARM chooses the engines: `quickjs,v8` (default), one of them, or `none`. Each
 * engine started costs the worker memory whether or not it ever runs JavaScript (measured in
 * docs/javascript.md); `none` restores starting an engine at its first deploy.
 */
import { asTfaasError, TfaasError } from "../../shared/errors.js";
import { log } from "../../shared/log.js";
import { cacheDirOf } from "../instrumented-cache.js";
import { isJsEngine, JS_ENGINES, type JsEngine } from "./index.js";

export const JS_PREWARM_ENV = "TFAAS_JS_PREWARM";
export const DEFAULT_JS_PREWARM: readonly JsEngine[] = JS_ENGINES;

/** The engines a TFAAS_JS_PREWARM value names; fails with `invalid-request` on anything else. */
export function parseJsPrewarm(raw: string | undefined): JsEngine[] {
  if (raw === undefined || raw.trim() === "") return [...DEFAULT_JS_PREWARM];
  if (raw.trim() === "none") return [];
  const names = raw.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !isJsEngine(name));
  if (unknown.length > 0) {
    throw new TfaasError("invalid-request", `Cannot read ${JS_PREWARM_ENV}: expected none or a comma-separated list of ${JS_ENGINES.join(", ")}, got ${JSON.stringify(raw)}`);
  }
  return [...new Set(names as JsEngine[])];
}

const START_ORDER: readonly JsEngine[] = ["v8", "quickjs"];

export interface PrewarmTiming {
  engine: JsEngine;
  ms: number;
}

/**
 * Starts `engines` one after the other, v8 first (each also starts at its first deploy if this has not
 * finished); settles with how long each took. `cacheDir` holds the instrumented QuickJS engine
 * (undefined: every process instruments it itself). Call once, at process start.
 */
export async function prewarmJsEngines(engines: readonly JsEngine[], cacheDir: string | undefined): Promise<PrewarmTiming[]> {
  // The cache serves a QuickJS engine started later by a deploy too, so it is set up either way.
  (await import("./quickjs/engine.js")).useEngineCache(cacheDir);
  const timings: PrewarmTiming[] = [];
  // The cheap start first: V8's isolates take tens of ms, QuickJS hundreds.
  for (const engine of START_ORDER.filter((name) => engines.includes(name))) {
    const started = performance.now();
    if (engine === "quickjs") {
      await (await import("./quickjs/runtime.js")).warmQuickJsEngine();
    } else {
      await (await import("./v8/runtime.js")).warmV8Isolates();
    }
    timings.push({ engine, ms: Math.round(performance.now() - started) });
  }
  return timings;
}

/**
 * A worker process's start: the engines TFAAS_JS_PREWARM names, in the background, with the
 * QuickJS engine cached under `dataDir`. A failure is logged and left to the first deploy to
 * retry; it never stops the worker. Settles (never rejects) with the engines that started.
 */
export function startJsEngines(env: NodeJS.ProcessEnv, dataDir: string): Promise<JsEngine[]> {
  let engines: JsEngine[] = [];
  try {
    engines = parseJsPrewarm(env[JS_PREWARM_ENV]);
  } catch (error) {
    log.error("not starting JavaScript engines early", { error: asTfaasError(error).message });
  }
  // isolated-vm needs --no-node-snapshot on Node 20+: a hand-started `tfaas worker` may lack it, and
  // must not risk its wasm functions for an engine nobody asked for yet.
  const snapshotOff = [...process.execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].includes("--no-node-snapshot");
  if (engines.includes("v8") && !snapshotOff) {
    log.warn("not starting the v8 engine early: this process was started without --no-node-snapshot");
    engines = engines.filter((engine) => engine !== "v8");
  }
  return prewarmJsEngines(engines, cacheDirOf(dataDir)).then(
    (timings) => {
      if (timings.length > 0) log.debug("JavaScript engines started", Object.fromEntries(timings.map(({ engine, ms }) => [`${engine}Ms`, ms])));
      return timings.map(({ engine }) => engine);
    },
    (error: unknown) => {
      log.warn("cannot start JavaScript engines early", { error: asTfaasError(error).message });
      return [];
    },
  );
}
