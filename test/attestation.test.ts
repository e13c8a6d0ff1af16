/**
 * Attestation end to end on the sim backend: the real platform, GET /system/attestation, and
 * `tfaas attest` (the built binary) verifying it, with every rejection named by its check.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAttestationAnswer, verifyAttestationAnswer, type AttestationAnswer } from "../src/attestation/index.js";
import { parsePolicy, SIM_PLATFORM_KEY_FILE } from "../src/tee/index.js";
import { tfaas } from "./cli-runner.js";
import { startPlatform, type Platform } from "./harness.js";

let platform: Platform;
let work: string;
let platformKey: string;

beforeAll(async () => {
  platform = await startPlatform({ workers: 2 });
  work = mkdtempSync(path.join(os.tmpdir(), "tfaas-attest-"));
  platformKey = path.join(platform.dataDir, SIM_PLATFORM_KEY_FILE);
});
afterAll(async () => {
  await platform?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function answerFor(nonce: string): Promise<AttestationAnswer> {
  const res = await platform.api(`/system/attestation?nonce=${nonce}`);
  expect(res.status).toBe(200);
  return parseAttestationAnswer(await res.json());
}

describe("GET /system/attestation", () => {
  it("refuses a missing, short, long or non-hex nonce with 400, and anonymous callers with 401", async () => {
    for (const query of ["", "?nonce=abcd", `?nonce=${"ab".repeat(65)}`, `?nonce=${"zz".repeat(16)}`]) {
      const res = await platform.api(`/system/attestation${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("x-tfaas-error")).toBe("invalid-request");
    }
    expect((await fetch(`${platform.url}/system/attestation?nonce=${"ab".repeat(16)}`)).status).toBe(401);
  });

  it("answers for every worker, loudly simulated, with the platform key labelled as something to pin out of band", async () => {
    const nonce = "0f".repeat(32);
    const answer = await answerFor(nonce);
    expect(answer.nonce).toBe(nonce);
    expect(answer.warning).toMatch(/SIMULATED/);
    expect(answer.unavailable).toEqual([]);
    expect(answer.workers.map((worker) => worker.instance).sort()).toEqual(["worker-0", "worker-1"]);
    for (const worker of answer.workers) {
      expect(worker).toMatchObject({ tee: "sim", simulated: true, nonce, receipts: "batched" });
      expect(worker.doesNotProtect.join(" ")).toMatch(/read and modify worker memory/);
      expect(worker.simPlatformKey?.notice).toMatch(/out of band/);
      expect(Buffer.from(worker.boundKeys.receipt, "base64url")).toHaveLength(32);
      expect(Buffer.from(worker.boundKeys.hpke, "base64url")).toHaveLength(32);
      expect(worker.measurement).toBe(worker.runtimeMeasurement);
    }
    expect(new Set(answer.workers.map((worker) => worker.boundKeys.receipt)).size).toBe(2);
  });

  it("reports the measurement an operator recomputes with tfaas attest --print-measurement", async () => {
    const run = await tfaas(platform, work, ["attest", "--print-measurement"]);
    expect(run.code, run.stderr).toBe(0);
    const answer = await answerFor("11".repeat(16));
    expect(answer.workers[0]!.measurement).toBe(run.stdout.trim());
    const each = await tfaas(platform, work, ["attest", "--print-measurement", "--receipts", "each", "--json"]);
    const printed = JSON.parse(each.stdout) as { measurement: string; manifest: string };
    expect(printed.measurement).not.toBe(run.stdout.trim());
    expect(printed.manifest).toMatch(/^tfaas-sim-measurement v1\ntee sim\nreceipts each\nweights v1\n[0-9a-f]{64} {2}artifacts\//);
  });
});

describe("tfaas attest", () => {
  it("passes every worker with the platform key pinned, caches results, and says it is simulated", async () => {
    const tokens = path.join(work, "tokens.txt");
    const run = await tfaas(platform, work, ["attest", "--sim-platform-key", platformKey, "--token-out", tokens]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/WARNING: SIMULATED TEE/);
    expect(run.stdout.match(/^PASS {2}worker-\d/gm)).toHaveLength(2);
    expect(run.stdout).toMatch(/verdict: PASS \(2 workers attested; SIMULATED/);
    const json = await tfaas(platform, work, ["attest", "--sim-platform-key", platformKey, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, simulated: true, cachedResults: 2 });
  });

  it("fails with policy.measurement when the policy expects other code", async () => {
    const policy = path.join(work, "other-code.yaml");
    writeFileSync(policy, `tee:\n  sim:\n    measurements: ["${"ab".repeat(32)}"]\n`);
    const run = await tfaas(platform, work, ["attest", "--policy", policy, "--sim-platform-key", platformKey]);
    expect(run.code).toBe(1);
    expect(run.stdout.match(/^ {2}✗ policy\.measurement: /gm)).toHaveLength(2);
    expect(run.stdout).toMatch(/verdict: FAIL/);
    expect(run.stderr).toMatch(/policy\.measurement/);
  });

  it("fails with policy.tee-type when the policy allows only hardware TEEs", async () => {
    const policy = path.join(work, "hardware-only.yaml");
    writeFileSync(policy, `tee:\n  tdx:\n    mrtd: ["${"00".repeat(48)}"]\n`);
    const run = await tfaas(platform, work, ["attest", "--policy", policy, "--sim-platform-key", platformKey]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ policy\.tee-type: evidence is sim; policy allows tdx/);
  });

  it("fails with sim.platform-key when no platform key is pinned, and trusts the gateway's only when told, with a warning", async () => {
    const unpinned = await tfaas(platform, work, ["attest"]);
    expect(unpinned.code).toBe(1);
    expect(unpinned.stdout).toMatch(/✗ sim\.platform-key/);
    const trusting = await tfaas(platform, work, ["attest", "--trust-sim-key-from-gateway"]);
    expect(trusting.code, trusting.stdout).toBe(0);
    expect(trusting.stderr).toMatch(/WARNING: --trust-sim-key-from-gateway/);
  });
});

describe("verifying an answer", () => {
  const policy = parsePolicy({ tee: { sim: { measurements: ["00"] } } });

  async function verified(answer: AttestationAnswer, nonce: string) {
    const key = answer.workers[0]!.simPlatformKey!.key;
    const measurements = answer.workers.map((worker) => worker.measurement);
    return verifyAttestationAnswer(answer, {
      policy: { ...policy, tee: { sim: { measurements, minSvn: 0 } } },
      nonce: new Uint8Array(Buffer.from(nonce, "hex")),
      trustAnchors: { sim: { platformKeys: [new Uint8Array(Buffer.from(key, "base64url"))] } },
    });
  }

  const failed = (result: Awaited<ReturnType<typeof verified>>) => result.workers.flatMap((worker) => worker.checks.filter((check) => !check.ok).map((check) => check.name));

  it("passes the answer to its own nonce", async () => {
    const nonce = "42".repeat(32);
    const result = await verified(await answerFor(nonce), nonce);
    expect(result.ok).toBe(true);
  });

  it("rejects a replayed answer (evidence for another nonce) with nonce.fresh", async () => {
    const old = await answerFor("01".repeat(32));
    const result = await verified(old, "02".repeat(32));
    expect(result.ok).toBe(false);
    expect(new Set(failed(result))).toEqual(new Set(["nonce.fresh"]));
  });

  it("rejects swapped keys with binding.report-data and altered evidence with sim.signature", async () => {
    const nonce = "43".repeat(32);
    const answer = await answerFor(nonce);
    const [first, second] = answer.workers;
    const swapped = { ...answer, workers: [{ ...first!, boundKeys: second!.boundKeys }] };
    expect(failed(await verified(swapped, nonce))).toEqual(["binding.report-data"]);
    const bytes = Buffer.from(first!.evidence, "base64");
    bytes[bytes.length - 70]! ^= 1;
    const altered = { ...answer, workers: [{ ...first!, evidence: bytes.toString("base64") }] };
    expect(failed(await verified(altered, nonce))).toContain("sim.signature");
  });
});

describe("platforms that must not pass", () => {
  it("a debug-enabled TEE fails with policy.debug-disabled", async () => {
    const debug = await startPlatform({ workers: 1, env: { TFAAS_TEE_SIM_DEBUG: "1" } });
    try {
      const run = await tfaas(debug, work, ["attest", "--sim-platform-key", path.join(debug.dataDir, SIM_PLATFORM_KEY_FILE)]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/✗ policy\.debug-disabled: debug is ON/);
    } finally {
      await debug.dispose();
    }
  });

  it("tfaas up --tee tdx without the device refuses to start, naming the missing directory", async () => {
    const missing = path.join(work, "no-tsm");
    await expect(startPlatform({ workers: 1, env: { TFAAS_TEE: "tdx", TFAAS_TEE_DEVICE_ROOT: missing } })).rejects.toThrow(
      new RegExp(`Cannot use TEE tdx: current device directory ${missing} is missing`),
    );
  });
});
