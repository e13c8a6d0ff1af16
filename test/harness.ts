/**
 * Integration harness: starts a real platform (`tfaas up` from the built package) on an
 * ephemeral port with a temporary data directory, and always cleans up.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const cliEntry = path.join(repoRoot, "bin", "tfaas.js");

export interface Platform {
  url: string;
  user: string;
  password: string;
  dataDir: string;
  process: ChildProcess;
  /** Output of the platform process so far (for diagnosing failures). */
  output(): string;
  /** Authenticated request to the gateway. */
  api(pathname: string, init?: RequestInit): Promise<Response>;
  /** PIDs of the worker processes. */
  workerPids(): number[];
  /** SIGKILL (default) or SIGTERM the platform and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stops and removes the data directory. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  workers?: number;
  env?: Record<string, string>;
}

/** A `tfaas` process (platform or worker) that has printed its `ready: <url>` line. */
export interface ReadyProcess {
  child: ChildProcess;
  /** The URL from the ready line. */
  url: string;
  /** Its stdout and stderr so far. */
  output(): string;
  /** SIGKILL (default) or SIGTERM the process and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `node <args>` with the test's environment plus `env`, and waits up to 30 s for its
 * `ready: <url>` line; fails with its output if it exits or times out first. `what` names it.
 */
export async function startUntilReady(what: string, args: string[], env: Record<string, string>): Promise<ReadyProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not become ready:\n${output}`)), 30_000);
    const onData = () => {
      const match = /^ready: (\S+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before ready:\n${output}`));
    });
  });
  return {
    child,
    url,
    output: () => output,
    stop: async (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function startPlatform(options: StartOptions = {}): Promise<Platform> {
  if (!existsSync(path.join(repoRoot, "dist", "cli", "main.js"))) {
    throw new Error("Cannot start the platform: dist/ is missing; run `npm run build` first (npm test does)");
  }
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "tfaas-it-"));
  const user = "admin";
  const password = "test-password-" + Math.random().toString(36).slice(2);
  const { child, url, output, stop } = await startUntilReady(
    "platform",
    [cliEntry, "up", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, "--workers", String(options.workers ?? 2)],
    { TFAAS_ADMIN_USER: user, TFAAS_ADMIN_PASSWORD: password, TFAAS_LOG_LEVEL: "warn", ...options.env },
  );
  const auth = "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
  return {
    url,
    user,
    password,
    dataDir,
    process: child,
    output,
    api: (pathname, init = {}) =>
      fetch(url + pathname, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string> | undefined) } }),
    workerPids: () => {
      const ps = spawnSync("pgrep", ["-P", String(child.pid)], { encoding: "utf8" });
      return ps.stdout.split("\n").filter(Boolean).map(Number);
    },
    stop,
    dispose: async () => {
      await stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let wabtPromise: ReturnType<typeof wabtInit> | undefined;

/** Compiles a fixture from test/fixtures/<name>.wat with wabt. */
export async function watFixture(name: string): Promise<Uint8Array<ArrayBuffer>> {
  wabtPromise ??= wabtInit();
  const wabt = await wabtPromise;
  const file = path.join(repoRoot, "test", "fixtures", `${name}.wat`);
  const parsed = wabt.parseWat(file, readFileSync(file, "utf8"));
  try {
    return new Uint8Array(parsed.toBinary({}).buffer as Uint8Array<ArrayBuffer>);
  } finally {
    parsed.destroy();
  }
}

export const hasClang = spawnSync("clang", ["--version"]).status === 0;

/** Compiles test/fixtures/<name>.c for wasm32-wasi with Debian's clang. */
export function cFixture(name: string): Uint8Array<ArrayBuffer> {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), "tfaas-cfix-")), `${name}.wasm`);
  try {
    const result = spawnSync("clang", ["--target=wasm32-wasi", "-O2", "-s", "-o", out, path.join(repoRoot, "test", "fixtures", `${name}.c`)], {
      encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`clang failed for ${name}.c:\n${result.stderr}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** Uploads code and deploys it as a function; returns the digest. */
export async function deploy(platform: Platform, service: string, code: Uint8Array<ArrayBuffer>, extra: Record<string, unknown> = {}): Promise<string> {
  const upload = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: code });
  if (upload.status !== 201) throw new Error(`upload failed: ${upload.status} ${await upload.text()}`);
  const { digest } = (await upload.json()) as { digest: string };
  const res = await platform.api("/system/functions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ service, image: digest, ...extra }),
  });
  if (res.status !== 202) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  return digest;
}
