import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "./bytes.js";
import { encodeContent, hashEncoded } from "./canonical.js";
import { recomputeBill, ReceiptSigner, receiptHash, verifyChain, type ReceiptContent, type ReceiptInput, type ReceiptMode, type SignedReceipt } from "./index.js";
import { buildTree } from "./merkle.js";
import { batchMessage, receiptMessage, signMessage } from "./signatures.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const other = generateKeyPairSync("ed25519");
const digestOf = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function input(i: number, fn = "echo.openfaas-fn", usage: Partial<ReceiptInput["usage"]> = {}): ReceiptInput {
  return {
    callId: `call-${i}`,
    function: fn,
    artifactDigest: digestOf(fn),
    requestDigest: digestOf(`request ${i}`),
    responseDigest: digestOf(`response ${i}`),
    usage: { fuel: "1000", memoryPeakBytes: 65_536, ioBytesIn: 10, ioBytesOut: 20, wallNanos: 300, weightsVersion: "v1", ...usage },
    status: 200,
  };
}

/** `count` receipts one second apart from T0, in issue order. */
async function chain(mode: ReceiptMode, count: number, workerId = "worker-1", key = privateKey, start = T0): Promise<SignedReceipt[]> {
  let tick = 0;
  const signer = new ReceiptSigner({ workerId, privateKey: key, mode, batchSize: 4, clock: () => start + 1000 * tick++ });
  const receipts = await Promise.all(Array.from({ length: count }, (_, i) => signer.issue(input(i))));
  signer.close();
  return receipts;
}

/** A receipt the key holder signs outside any signer: how a misbehaving worker would equivocate. */
function signEach(content: ReceiptContent): SignedReceipt {
  const signature = signMessage(receiptMessage(hashEncoded(encodeContent(content))), privateKey);
  return { content, proof: { mode: "each", signature: toBase64Url(signature) } };
}

describe("verifyChain", () => {
  it("accepts complete chains in issue order, in both modes", async () => {
    for (const mode of ["each", "batched"] as const) {
      const receipts = await chain(mode, 10);
      const report = verifyChain(receipts, publicKey);
      expect(report.ok, mode).toBe(true);
      expect(report.workers).toEqual([{ workerId: "worker-1", firstSeq: 1, lastSeq: 10, receipts: 10, batches: mode === "each" ? 10 : 3 }]);
      expect(report.checks.every((c) => c.ok)).toBe(true);
    }
  });

  it("reports a dropped receipt as a gap", async () => {
    const receipts = await chain("batched", 10);
    const report = verifyChain([...receipts.slice(0, 4), ...receipts.slice(6)], publicKey);
    expect(report.ok).toBe(false);
    expect(report.gaps).toEqual([{ workerId: "worker-1", afterSeq: 4, nextSeq: 7, missing: 2 }]);
    expect(report.checks.find((c) => c.name === "chain.continuity")).toMatchObject({ ok: false, detail: expect.stringContaining("2 receipt(s) missing after seq 4") });
    expect([report.forks, report.reordered, report.duplicates, report.invalid]).toEqual([[], [], [], []]);
  });

  it("says where a partial chain starts without calling it a gap", async () => {
    const receipts = await chain("each", 6);
    const report = verifyChain(receipts.slice(3), publicKey);
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.name === "chain.start")!.detail).toMatch(/starts at seq 4; receipts before it were not given/);
  });

  it("reports receipts listed out of issue order as reordered", async () => {
    const receipts = await chain("each", 6);
    const swapped = [receipts[0]!, receipts[1]!, receipts[3]!, receipts[2]!, receipts[4]!, receipts[5]!];
    const report = verifyChain(swapped, publicKey);
    expect(report.ok).toBe(false);
    expect(report.reordered).toEqual([{ workerId: "worker-1", seq: 3, position: 3, reason: "position" }]);
    expect(report.gaps).toEqual([]);
    expect(report.forks).toEqual([]);
  });

  it("reports a timestamp that runs backwards along the chain as reordered", async () => {
    const [first] = await chain("each", 1);
    const second = signEach({ ...structuredClone(first!.content), callId: "late", seq: 2, prev: receiptHash(first!.content), timestamp: new Date(T0 - 1).toISOString() });
    expect(verifyChain([first!, second], publicKey).reordered).toEqual([{ workerId: "worker-1", seq: 2, position: 1, reason: "timestamp" }]);
  });

  it("reports the same receipt listed twice as a duplicate, not as a fork", async () => {
    const receipts = await chain("batched", 5);
    const report = verifyChain([...receipts.slice(0, 3), receipts[2]!, ...receipts.slice(3)], publicKey);
    expect(report.ok).toBe(false);
    expect(report.duplicates).toEqual([{ workerId: "worker-1", seq: 3, hash: receiptHash(receipts[2]!.content), positions: [2, 3] }]);
    expect(report.forks).toEqual([]);
    expect(report.reordered).toEqual([]);
  });

  it("reports two different receipts for one seq, and a receipt that does not link to its predecessor, as forks", async () => {
    const a = await chain("each", 3);
    const b = await chain("batched", 4, "worker-1", privateKey, T0 + 1);
    const sameSeq = verifyChain([...a, b[2]!], publicKey);
    // b[2] also links to b[1], which is not a[1]: the second branch shows both ways.
    expect(sameSeq.forks).toEqual([
      { workerId: "worker-1", seq: 3, reason: "same-seq", hashes: [receiptHash(a[2]!.content), receiptHash(b[2]!.content)] },
      { workerId: "worker-1", seq: 3, reason: "broken-link", hashes: [receiptHash(b[2]!.content)] },
    ]);
    const spliced = verifyChain([a[0]!, a[1]!, b[2]!, b[3]!], publicKey);
    expect(spliced.forks).toEqual([{ workerId: "worker-1", seq: 3, reason: "broken-link", hashes: [receiptHash(b[2]!.content)] }]);
    expect(spliced.checks.find((c) => c.name === "chain.links")).toMatchObject({ ok: false, detail: expect.stringContaining("forked at seq 3") });
  });

  it("keeps receipts that fail their proof out of the chain: invalid, and their place a gap", async () => {
    const receipts = await chain("each", 5);
    const altered = structuredClone(receipts);
    altered[2]!.content.usage.fuel = "1";
    const report = verifyChain(altered, publicKey);
    expect(report.invalid).toEqual([{ position: 2, workerId: "worker-1", seq: 3, failed: ["receipt.signature"], detail: expect.stringContaining("does not verify") }]);
    expect(report.gaps).toEqual([{ workerId: "worker-1", afterSeq: 2, nextSeq: 4, missing: 1 }]);
    const malformed = verifyChain([...receipts.slice(0, 4), { content: { workerId: "worker-1", seq: 5 } } as unknown as SignedReceipt], publicKey);
    expect(malformed.invalid).toMatchObject([{ position: 4, workerId: "worker-1", seq: 5, failed: ["receipt.format"] }]);
  });

  it("verifies each worker's chain with its own key, and flags workers without one", async () => {
    const one = await chain("each", 3, "worker-1");
    const two = await chain("batched", 5, "worker-2", other.privateKey);
    const three = await chain("each", 1, "worker-3");
    const interleaved = [one[0]!, two[0]!, two[1]!, one[1]!, two[2]!, one[2]!, two[3]!, two[4]!, three[0]!];
    const report = verifyChain(interleaved, new Map([["worker-1", publicKey], ["worker-2", other.publicKey]]));
    expect(report.workers.map((w) => [w.workerId, w.lastSeq])).toEqual([["worker-1", 3], ["worker-2", 5]]);
    expect(report.invalid).toEqual([{ position: 8, workerId: "worker-3", seq: 1, failed: ["receipt.public-key"], detail: "no public key for worker worker-3" }]);
    expect([report.gaps, report.forks, report.reordered]).toEqual([[], [], []]);
    const swappedKeys = verifyChain(interleaved.slice(0, 8), new Map([["worker-1", other.publicKey], ["worker-2", publicKey]]));
    expect(swappedKeys.invalid.map((i) => i.failed)).toEqual([
      ["receipt.signature"],
      ["receipt.batch-signature"],
      ["receipt.batch-signature"],
      ["receipt.signature"],
      ["receipt.batch-signature"],
      ["receipt.signature"],
      ["receipt.batch-signature"],
      ["receipt.batch-signature"],
    ]);
  });
  it("does not let a batch root verified under one worker's key vouch for another worker's receipt", async () => {
    const [own] = await chain("each", 1, "worker-1");
    const foreign: ReceiptContent = { ...structuredClone(own!.content), workerId: "worker-2", callId: "planted" };
    const contents = [own!.content, foreign];
    const { root, paths } = buildTree(contents.map((c) => hashEncoded(encodeContent(c))));
    const signature = toBase64Url(signMessage(batchMessage(2, root), privateKey));
    const receipts = contents.map((content, index): SignedReceipt => ({
      content,
      proof: { mode: "batched", root: root.toString("hex"), size: 2, index, siblings: paths[index]!.map((p) => p.toString("hex")), signature },
    }));
    const report = verifyChain(receipts, new Map([["worker-1", publicKey], ["worker-2", other.publicKey]]));
    expect(report.invalid).toMatchObject([{ position: 1, workerId: "worker-2", failed: ["receipt.batch-signature"] }]);
  });
});

describe("recomputeBill", () => {
  it("totals verified receipts per function within [from, to)", async () => {
    let tick = 0;
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "batched", batchSize: 3, clock: () => T0 + 1000 * tick++ });
    const receipts = await Promise.all([
      signer.issue(input(0, "a.fn", { fuel: "18446744073709551615", wallNanos: Number.MAX_SAFE_INTEGER })),
      signer.issue(input(1, "a.fn", { fuel: "5", memoryPeakBytes: 131_072, wallNanos: Number.MAX_SAFE_INTEGER })),
      signer.issue(input(2, "b.fn", { fuel: null, weightsVersion: null, ioBytesIn: 7, ioBytesOut: 9 })),
      signer.issue(input(3, "b.fn")),
      signer.issue(input(4, "a.fn")),
    ]);
    const bill = recomputeBill(receipts, { from: new Date(T0), to: new Date(T0 + 4000), keys: publicKey });
    expect(bill.ok).toBe(true);
    expect(bill.functions).toEqual([
      {
        function: "a.fn",
        calls: 2,
        fuel: (18446744073709551615n + 5n).toString(),
        callsWithoutFuel: 0,
        memoryPeakBytesMax: 131_072,
        ioBytesIn: "20",
        ioBytesOut: "40",
        wallNanos: (2n * BigInt(Number.MAX_SAFE_INTEGER)).toString(),
        weightsVersions: ["v1"],
      },
      { function: "b.fn", calls: 2, fuel: "1000", callsWithoutFuel: 1, memoryPeakBytesMax: 65_536, ioBytesIn: "17", ioBytesOut: "29", wallNanos: "600", weightsVersions: ["v1"] },
    ]);
    const later = recomputeBill(receipts, { from: new Date(T0 + 4000), to: new Date(T0 + 5000), keys: publicKey });
    expect(later.functions.map((f) => [f.function, f.calls])).toEqual([["a.fn", 1]]);
    expect(() => recomputeBill(receipts, { from: new Date(T0 + 1), to: new Date(T0), keys: publicKey })).toThrow(/Cannot recompute bill: the range must be two valid times/);
    expect(() => recomputeBill(receipts, { from: new Date(NaN), to: new Date(T0), keys: publicKey })).toThrow(/from ≤ to/);
  });

  it("counts a duplicate once, leaves out invalid receipts, and flags every finding", async () => {
    const receipts = await chain("each", 6);
    const altered = structuredClone(receipts[4]!);
    altered.content.usage.fuel = "999999";
    const list = [receipts[0]!, receipts[1]!, receipts[1]!, receipts[3]!, altered, receipts[5]!];
    const bill = recomputeBill(list, { from: new Date(T0), to: new Date(T0 + 60_000), keys: publicKey });
    expect(bill.ok).toBe(false);
    expect(bill.functions[0]).toMatchObject({ calls: 4, fuel: "4000" });
    expect(bill.flags.map((f) => f.kind).sort()).toEqual(["duplicate", "gap", "gap", "invalid"]);
    expect(bill.flags.find((f) => f.kind === "invalid")!.detail).toMatch(/position 4 not counted/);
  });

  it("flags fuel summed over different weight tables", async () => {
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "each" });
    const receipts = [await signer.issue(input(0, "a.fn", { weightsVersion: "v1" })), await signer.issue(input(1, "a.fn", { weightsVersion: "v2" }))];
    const bill = recomputeBill(receipts, { from: new Date(0), to: new Date(Date.now() + 60_000), keys: publicKey });
    expect(bill.flags).toEqual([{ kind: "mixed-weights", workerId: null, detail: "a.fn: fuel sums weight tables v1, v2" }]);
  });
});
