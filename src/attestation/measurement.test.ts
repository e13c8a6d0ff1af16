import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { computeRuntimeMeasurement } from "./measurement.js";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  root = mkdtempSync(path.join(os.tmpdir(), "tfaas-measure-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("computeRuntimeMeasurement", () => {
  it("hashes a manifest of the runtime folders' files, sorted, with the configuration", async () => {
    const dir = tree({ "worker/main.js": "w", "crypto/b.js": "b", "crypto/a/z.js": "z", "gateway/index.js": "not a worker file", "worker/main.js.map": "{}" });
    const measured = await computeRuntimeMeasurement({ root: dir, extension: ".js", tee: "sim", receipts: "each", weightsVersion: "v9" });
    const manifest = `tfaas-sim-measurement v1\ntee sim\nreceipts each\nweights v9\n${sha("z")}  crypto/a/z.js\n${sha("b")}  crypto/b.js\n${sha("w")}  worker/main.js\n`;
    expect(measured.manifest).toBe(manifest);
    expect(measured.hex).toBe(sha(manifest));
  });

  it("changes with any file and with the receipt mode; skips tests and contracts among sources", async () => {
    const dir = tree({ "worker/main.ts": "w", "worker/main.test.ts": "t", "tee/backend.contract.ts": "c" });
    const base = await computeRuntimeMeasurement({ root: dir, extension: ".ts", tee: "sim", receipts: "batched", weightsVersion: "v1" });
    expect(base.manifest).not.toMatch(/test|contract/);
    expect((await computeRuntimeMeasurement({ root: dir, extension: ".ts", tee: "sim", receipts: "off", weightsVersion: "v1" })).hex).not.toBe(base.hex);
    writeFileSync(path.join(dir, "worker/main.ts"), "w2");
    expect((await computeRuntimeMeasurement({ root: dir, extension: ".ts", tee: "sim", receipts: "batched", weightsVersion: "v1" })).hex).not.toBe(base.hex);
  });
});
