/** Runs the built `tfaas` binary as a user would, for every integration test that drives the CLI. */
import { spawn } from "node:child_process";
import path from "node:path";
import { repoRoot, type Platform } from "./harness.js";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Working directory; unset: the test process's own. */
  cwd?: string;
  /** Added to (and overriding) the test process's environment. */
  env?: Record<string, string>;
  /** The CLI's standard input, closed after it ("" by default). */
  stdin?: string | Uint8Array;
}

/** Runs `tfaas <args>` to completion and collects its exit code and output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, "bin", "tfaas.js"), ...args], {
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** The environment that points the CLI at `platform` with the admin's credentials. */
export function platformEnv(platform: Platform): Record<string, string> {
  return { TFAAS_GATEWAY: platform.url, TFAAS_USER: platform.user, TFAAS_PASSWORD: platform.password };
}

/**
 * Runs the CLI against `platform` from `work`, with its config directory under `work` (never the
 * user's own) and the admin's credentials; `env` adds to or overrides that.
 */
export function tfaas(platform: Platform, work: string, args: string[], options: { stdin?: string | Uint8Array; env?: Record<string, string> } = {}): Promise<Run> {
  return runCli(args, {
    cwd: work,
    env: { ...platformEnv(platform), TFAAS_CONFIG_DIR: path.join(work, ".config"), ...options.env },
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
  });
}
