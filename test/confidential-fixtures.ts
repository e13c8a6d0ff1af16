/** Shared by the confidential integration tests: a marker-carrying function, the sim trust anchor and a grep over everything the gateway keeps. */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import wabtInit from "wabt";
import { parseAttestationAnswer } from "../src/attestation/index.js";
import { SIM_PLATFORM_KEY_FILE } from "../src/tee/index.js";
import type { Platform } from "./harness.js";

/** Echoes stdin to stdout and to stderr, then writes `marker` (a data segment: it is in the code) to both. */
export async function markerEcho(marker: string): Promise<Uint8Array<ArrayBuffer>> {
  const wat = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 512) "${marker}")
  (func (export "_start")
    (local $n i32)
    (loop $more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 64512))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.load (i32.const 8)))
      (if (i32.gt_u (local.get $n) (i32.const 0))
        (then
          (i32.store (i32.const 4) (local.get $n))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
          (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 12)))
          (br $more))))
    (i32.store (i32.const 16) (i32.const 512))
    (i32.store (i32.const 20) (i32.const ${marker.length}))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (drop (call $fd_write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 24)))))`;
  const wabt = await wabtInit();
  const module = wabt.parseWat("marker.wat", wat);
  try {
    return new Uint8Array(module.toBinary({}).buffer as Uint8Array<ArrayBuffer>);
  } finally {
    module.destroy();
  }
}

export function simPlatformKeyFile(platform: Platform): string {
  return path.join(platform.dataDir, SIM_PLATFORM_KEY_FILE);
}

/** The raw sim platform key, as an operator would pin it out of band (here: read from the test's own data directory). */
export function simPlatformKey(platform: Platform): Uint8Array {
  const key = createPublicKey(createPrivateKey(readFileSync(simPlatformKeyFile(platform))));
  return new Uint8Array(Buffer.from(key.export({ format: "jwk" }).x ?? "", "base64url"));
}

/** The measurement the workers report (to write a policy; the client verifies the evidence itself). */
export async function workerMeasurement(platform: Platform): Promise<string> {
  const answer = parseAttestationAnswer(await (await platform.api(`/system/attestation?nonce=${"11".repeat(16)}`)).json());
  const measurement = answer.workers[0]?.measurement;
  if (measurement === undefined) throw new Error("no worker answered the attestation request");
  return measurement;
}

/** Every file under `dir` (the data directory: SQLite with its WAL, artifacts, keys) as bytes. */
export function filesUnder(dir: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) out.push(...filesUnder(file));
    else out.push({ file, bytes: readFileSync(file) });
  }
  return out;
}

/** Where the marker appears among everything the gateway keeps or shows: data directory, its output, /metrics. */
export async function leaksOf(platform: Platform, marker: string): Promise<string[]> {
  const needle = Buffer.from(marker);
  const found: string[] = [];
  for (const { file, bytes } of filesUnder(platform.dataDir)) if (bytes.includes(needle)) found.push(file);
  if (platform.output().includes(marker)) found.push("gateway output");
  const metrics = await (await fetch(`${platform.url}/metrics`)).text();
  if (metrics.includes(marker)) found.push("/metrics");
  return found;
}
