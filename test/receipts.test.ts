/**
 * Receipts end to end: every call of a real platform carries one in X-Tfaas-Receipt, the ledger
 * stores the same, it verifies under the attested key, chains per worker, and the CLI recomputes
 * the bill from receipts alone; tampering and receipts off are covered too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAttestationAnswer, verifyAttestationAnswer } from "../src/attestation/index.js";
import { bodyDigest, decodeReceiptHeader, encodeReceiptHeader, parseReceipt, receiptHash, verifyChain, verifyReceipt, type SignedReceipt } from "../src/crypto/index.js";
import { parsePolicy, SIM_PLATFORM_KEY_FILE } from "../src/tee/index.js";
import { tfaas } from "./cli-runner.js";
import { deploy, startPlatform, watFixture, type Platform } from "./harness.js";

/** The workers' receipt keys by worker id, from evidence verified with the pinned platform key. */
async function attestedKeys(platform: Platform): Promise<Map<string, Uint8Array>> {
  const nonce = Buffer.alloc(32, 7);
  const answer = parseAttestationAnswer(await (await platform.api(`/system/attestation?nonce=${nonce.toString("hex")}`)).json());
  const pinned = new Uint8Array(Buffer.from(answer.workers[0]!.simPlatformKey!.key, "base64url"));
  expect(Buffer.from(pinned)).toEqual(Buffer.from((await import("node:crypto")).createPublicKey(readFileSync(path.join(platform.dataDir, SIM_PLATFORM_KEY_FILE))).export({ format: "jwk" }).x!, "base64url"));
  const policy = parsePolicy({ tee: { sim: { measurements: answer.workers.map((worker) => worker.measurement) } } });
  const result = verifyAttestationAnswer(answer, { policy, nonce: new Uint8Array(nonce), trustAnchors: { sim: { platformKeys: [pinned] } } });
  expect(result.ok).toBe(true);
  return new Map(result.workers.map((worker) => [worker.workerId, new Uint8Array(Buffer.from(worker.boundKeys.receipt, "base64url"))]));
}

async function call(platform: Platform, body: string): Promise<{ res: Response; text: string; receipt: SignedReceipt | undefined }> {
  const res = await fetch(`${platform.url}/function/echo`, { method: "POST", body });
  const text = await res.text();
  const header = res.headers.get("x-tfaas-receipt");
  return { res, text, receipt: header === null ? undefined : decodeReceiptHeader(header) };
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "tfaas-receipts-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("receipts, batched (the default)", () => {
  let platform: Platform;
  let digest: string;
  beforeAll(async () => {
    platform = await startPlatform({ workers: 1 });
    digest = await deploy(platform, "echo", await watFixture("echo"));
  });
  afterAll(async () => {
    await platform?.dispose();
  });

  it("come with every call, verify under the attested key, match the bodies, and equal what the ledger stores", async () => {
    const keys = await attestedKeys(platform);
    for (const body of ["one", "two", "three"]) {
      const { res, text, receipt } = await call(platform, body);
      expect(res.status).toBe(200);
      expect(receipt).toBeDefined();
      const content = receipt!.content;
      expect(content).toMatchObject({ callId: res.headers.get("x-call-id"), function: "echo.openfaas-fn", artifactDigest: digest, status: 200 });
      expect(content.requestDigest).toBe(bodyDigest(Buffer.from(body)));
      expect(content.responseDigest).toBe(bodyDigest(Buffer.from(text)));
      expect(content.usage.fuel).toBe(res.headers.get("x-tfaas-fuel"));
      expect(content.usage.weightsVersion).toBe("v1");
      expect(receipt!.proof.mode).toBe("batched");
      const key = keys.get(content.workerId);
      expect(key, "the receipt's worker is attested").toBeDefined();
      expect(verifyReceipt(receipt!, { publicKey: key!, request: Buffer.from(body), response: Buffer.from(text) }).ok).toBe(true);
      expect(verifyReceipt(receipt!, { publicKey: key!, request: Buffer.from(body + "!") }).checks.find((check) => !check.ok)?.name).toBe("receipt.request-digest");
      const stored = await platform.api(`/system/receipts/${content.callId}`);
      expect(stored.status).toBe(200);
      expect(parseReceipt(await stored.json())).toEqual(receipt);
    }
    expect((await platform.api("/system/receipts/no-such-call")).status).toBe(404);
  });

  it("chain across calls on one worker: consecutive seqs, each prev the hash of the one before", async () => {
    const keys = await attestedKeys(platform);
    const receipts: SignedReceipt[] = [];
    for (let i = 0; i < 4; i++) receipts.push((await call(platform, `chain ${i}`)).receipt!);
    // Concurrent calls share batches; their chain is just as continuous.
    const together = await Promise.all(Array.from({ length: 24 }, (_, i) => call(platform, `together ${i}`)));
    for (const { receipt } of together) expect(verifyReceipt(receipt!, { publicKey: keys.get(receipt!.content.workerId)! }).ok).toBe(true);
    for (let i = 1; i < receipts.length; i++) {
      expect(receipts[i]!.content.seq).toBe(receipts[i - 1]!.content.seq + 1);
      expect(receipts[i]!.content.prev).toBe(receiptHash(receipts[i - 1]!.content));
    }
    const ledger = (await (await platform.api("/system/receipts")).json()) as unknown[];
    expect(ledger.length).toBeGreaterThanOrEqual(31);
    const chain = verifyChain(ledger, keys);
    expect(chain.ok, JSON.stringify(chain.checks.filter((check) => !check.ok))).toBe(true);
    expect(chain.workers[0]).toMatchObject({ firstSeq: 1, receipts: ledger.length });
  });

  it("tfaas receipt verify checks signature, key binding, digests and the chain link; an altered receipt fails", async () => {
    const attest = await tfaas(platform, work, ["attest", "--sim-platform-key", path.join(platform.dataDir, SIM_PLATFORM_KEY_FILE)]);
    expect(attest.code, attest.stdout + attest.stderr).toBe(0);
    await call(platform, "before");
    const { res, receipt } = await call(platform, "verify me");
    writeFileSync(path.join(work, "request"), "verify me");
    writeFileSync(path.join(work, "response"), "verify me");
    const callId = res.headers.get("x-call-id")!;
    const run = await tfaas(platform, work, ["receipt", "verify", callId, "--request", "request", "--response", "response"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const check of ["attestation.bound-key", "receipt.merkle-proof", "receipt.batch-signature", "receipt.request-digest", "receipt.response-digest", "chain.link"]) {
      expect(run.stdout).toMatch(new RegExp(`^✓ ${check.replace(".", "\\.")}: `, "m"));
    }
    writeFileSync(path.join(work, "header.txt"), res.headers.get("x-tfaas-receipt")!);
    expect((await tfaas(platform, work, ["receipt", "verify", "header.txt", "--no-chain"])).code).toBe(0);

    const altered = structuredClone(receipt!) as { content: { usage: { fuel: string | null } } };
    altered.content.usage.fuel = "1";
    writeFileSync(path.join(work, "altered.json"), JSON.stringify(altered));
    const bad = await tfaas(platform, work, ["receipt", "verify", "altered.json", "--response", "request"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^✗ receipt\.merkle-proof: /m);
    expect(bad.stdout).toMatch(/verdict: FAIL/);
  });

  it("tfaas usage --verify recomputes the ledger's totals from receipts alone, then flags a receipt altered in the ledger", async () => {
    const run = await tfaas(platform, work, ["usage", "--verify", "--json"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; bill: { functions: Array<{ function: string; calls: number; fuel: string }> }; ledger: Array<{ name: string; calls: number; fuel: string }> };
    const totals = (await (await platform.api("/system/usage")).json()) as Array<{ name: string; calls: number; fuel: string }>;
    expect(report.ok).toBe(true);
    expect(report.bill.functions).toHaveLength(1);
    expect(report.bill.functions[0]).toMatchObject({ function: "echo.openfaas-fn", calls: totals[0]!.calls, fuel: totals[0]!.fuel });

    // The operator edits one stored receipt (fuel halved), re-encoded well-formed: it no longer leads to the signed root.
    const db = new Database(path.join(platform.dataDir, "tfaas.db"));
    try {
      const row = db.prepare("SELECT rowid, receipt FROM usage WHERE receipt IS NOT NULL ORDER BY rowid LIMIT 1 OFFSET 2").get() as { rowid: number; receipt: string };
      const receipt = structuredClone(decodeReceiptHeader(row.receipt));
      receipt.content.usage.fuel = String(BigInt(receipt.content.usage.fuel!) / 2n);
      db.prepare("UPDATE usage SET receipt = ? WHERE rowid = ?").run(encodeReceiptHeader(receipt), row.rowid);
    } finally {
      db.close();
    }
    const tampered = await tfaas(platform, work, ["usage", "--verify"]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/^✗ invalid worker-0\.[0-9a-f]+: /m);
    expect(tampered.stdout).toMatch(/verdict: FAIL/);

    // A stored value that is not a receipt at all is the ledger's fault: 500 internal, naming the call.
    const broken = new Database(path.join(platform.dataDir, "tfaas.db"));
    let brokenCall: string;
    try {
      const row = broken.prepare("SELECT rowid, call_id FROM usage WHERE receipt IS NOT NULL ORDER BY rowid LIMIT 1").get() as { rowid: number; call_id: string };
      broken.prepare("UPDATE usage SET receipt = ? WHERE rowid = ?").run("not-a-receipt", row.rowid);
      brokenCall = row.call_id;
    } finally {
      broken.close();
    }
    const served = await platform.api(`/system/receipts/${brokenCall}`);
    expect(served.status).toBe(500);
    expect(served.headers.get("x-tfaas-error")).toBe("internal");
    expect(await served.text()).toContain(brokenCall);
  });
});

describe("receipts in mode each, and off", () => {
  it("each: one signature per receipt, verifying under the attested key", async () => {
    const platform = await startPlatform({ workers: 1, env: { TFAAS_RECEIPTS: "each" } });
    try {
      await deploy(platform, "echo", await watFixture("echo"));
      const keys = await attestedKeys(platform);
      const { receipt } = await call(platform, "each");
      expect(receipt!.proof.mode).toBe("each");
      expect(verifyReceipt(receipt!, { publicKey: keys.get(receipt!.content.workerId)! }).checks.map((check) => check.name)).toEqual(["receipt.signature"]);
    } finally {
      await platform.dispose();
    }
  });

  it("off: no header, nothing in the ledger, 404 from /system/receipts", async () => {
    const platform = await startPlatform({ workers: 1, env: { TFAAS_RECEIPTS: "off" } });
    try {
      await deploy(platform, "echo", await watFixture("echo"));
      const { res, receipt } = await call(platform, "off");
      expect(res.status).toBe(200);
      expect(receipt).toBeUndefined();
      expect((await platform.api(`/system/receipts/${res.headers.get("x-call-id")}`)).status).toBe(404);
      expect(await (await platform.api("/system/receipts")).json()).toEqual([]);
    } finally {
      await platform.dispose();
    }
  });
});
