/**
 * The `sim` measurement: SHA-256 of a manifest of the worker's runtime code and configuration, so
 * an operator can recompute it from the installed package (`tfaas attest --print-measurement`) or
 * by hand with sha256sum:
 *
 *   tfaas-sim-measurement v1
 *   tee <type>
 *   receipts <each|batched|off>
 *   weights <metering weight-table version>
 *   <sha256 hex of file>  <path relative to the runtime root>     one line per file, sorted by path (byte order)
 *
 * (lines end with "\n", including the last). The runtime root is the folder this module was
 * loaded from: `dist/` when built (every `.js` file), `src/` under tsx (every `.ts` file except
 * `*.test.ts` and `*.contract.ts`, the files the build leaves out), within the folders the worker
 * process loads: RUNTIME_FOLDERS.
 *
 * Guarantee stops here: Node.js itself and the packages under node_modules are not hashed, and
 * sim evidence is signed by a key on the host's disk anyway. On hardware TEEs the measurement is
 * the platform's (launch digest, MRTD, MRENCLAVE), not this value.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WEIGHTS_VERSION } from "../metering/index.js";
import type { TeeType } from "../tee/index.js";
import type { ReceiptsSetting } from "./config.js";

export const MEASUREMENT_MANIFEST_HEADER = "tfaas-sim-measurement v1";

/** Folders (below the runtime root) whose code a worker process loads. */
export const RUNTIME_FOLDERS = ["artifacts", "attestation", "confidential", "crypto", "distributed", "metering", "sandbox", "shared", "tee", "worker"] as const;

export interface MeasurementInput {
  tee: TeeType;
  receipts: ReceiptsSetting;
  /** Default: the folder above this module (dist/ or src/). */
  root?: string;
  /** Default: `.js` for dist/, `.ts` for src/, by this module's own extension. */
  extension?: ".js" | ".ts";
  /** Default: the metering weight table in this build. */
  weightsVersion?: string;
}

export interface RuntimeMeasurement {
  /** SHA-256 of `manifest`. */
  digest: Uint8Array<ArrayBuffer>;
  hex: string;
  manifest: string;
}

const ownUrl = import.meta.url;

export function defaultRuntimeRoot(): { root: string; extension: ".js" | ".ts" } {
  return { root: fileURLToPath(new URL("../", ownUrl)), extension: ownUrl.endsWith(".ts") ? ".ts" : ".js" };
}

function counted(name: string, extension: string): boolean {
  if (!name.endsWith(extension)) return false;
  return extension !== ".ts" || !(name.endsWith(".test.ts") || name.endsWith(".contract.ts") || name.endsWith(".d.ts"));
}

async function filesUnder(root: string, folder: string, extension: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(path.join(root, folder), { recursive: true, withFileTypes: true });
  } catch (error) {
    // A folder a build does not have (yet) contributes nothing.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile() && counted(entry.name, extension))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
}

export async function computeRuntimeMeasurement(input: MeasurementInput): Promise<RuntimeMeasurement> {
  const fallback = defaultRuntimeRoot();
  const root = input.root ?? fallback.root;
  const extension = input.extension ?? fallback.extension;
  const files = (await Promise.all(RUNTIME_FOLDERS.map((folder) => filesUnder(root, folder, extension)))).flat();
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const lines = [MEASUREMENT_MANIFEST_HEADER, `tee ${input.tee}`, `receipts ${input.receipts}`, `weights ${input.weightsVersion ?? WEIGHTS_VERSION}`];
  for (const file of files) {
    const hash = createHash("sha256").update(await readFile(path.join(root, file))).digest("hex");
    lines.push(`${hash}  ${file}`);
  }
  const manifest = lines.join("\n") + "\n";
  const digest = new Uint8Array(createHash("sha256").update(manifest).digest());
  return { digest, hex: Buffer.from(digest).toString("hex"), manifest };
}
