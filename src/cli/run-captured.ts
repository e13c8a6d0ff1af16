/** For the CLI's unit tests: the CLI run in-process with captured output. */
import { PassThrough } from "node:stream";
import type { CliIo } from "./io.js";
import { runCli } from "./program.js";

/** Runs `tfaas <argv>` from `dir` (also its config directory); stdin is a closed pipe holding `input`. */
export async function runCaptured(argv: string[], dir: string, env: Record<string, string> = {}, input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  stdin.end(input);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on("data", (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin, stdout, stderr, env: { TFAAS_CONFIG_DIR: dir, ...env }, cwd: dir };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(""), stderr: err.join("") };
}
