import { describe, expect, it } from "vitest";
import { decodeReceiptHeader, generateSigningKeyPair, verifyChain, type SignedReceipt } from "../crypto/index.js";
import type { CallFacts } from "./worker-receipts.js";
import { WORKER_BATCH_SIZE, WorkerReceipts } from "./worker-receipts.js";

const facts: CallFacts = {
  callId: "call-1",
  function: "echo.openfaas-fn",
  artifactDigest: `sha256:${"ab".repeat(32)}`,
  request: Buffer.from("in"),
  response: Buffer.from("out"),
  status: 200,
  usage: { fuel: 5n, weightsVersion: "v1", memoryPeakBytes: 65536, pageFuelIntegral: 5n, ioBytesIn: 2, ioBytesOut: 3 },
  wallNanos: 1000,
};

function setup(mode: "each" | "batched" | "off") {
  const { privateKey, publicKey } = generateSigningKeyPair();
  return { receipts: new WorkerReceipts({ workerId: "worker-0.test", privateKey, mode }), publicKey };
}

const parsed = (wire: { header: string } | undefined): SignedReceipt => decodeReceiptHeader(wire!.header);

describe("WorkerReceipts", () => {
  it("batched: a lone call's batch is signed as soon as the worker is idle, holding one receipt", async () => {
    const { receipts } = setup("batched");
    const receipt = parsed(await receipts.begin().issue(facts));
    expect(receipt.proof).toMatchObject({ mode: "batched", size: 1, index: 0 });
    expect(receipt.content).toMatchObject({ callId: "call-1", seq: 1, prev: null, status: 200, usage: { fuel: "5", wallNanos: 1000 } });
  });

  it("batched: calls queued together share batches of at most WORKER_BATCH_SIZE, in one continuous chain", async () => {
    const { receipts, publicKey } = setup("batched");
    const tickets = Array.from({ length: 40 }, () => receipts.begin());
    const all = (await Promise.all(tickets.map((ticket, i) => ticket.issue({ ...facts, callId: `call-${i}` })))).map(parsed);
    const sizes = all.map((receipt) => (receipt.proof.mode === "batched" ? receipt.proof.size : 0));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(WORKER_BATCH_SIZE);
    expect(sizes.some((size) => size > 1)).toBe(true);
    expect(verifyChain(all, publicKey).ok).toBe(true);
  });

  it("an abandoned call does not keep the batch open, and a ticket issues once", async () => {
    const { receipts } = setup("batched");
    const failed = receipts.begin();
    const ticket = receipts.begin();
    failed.abandon();
    const receipt = parsed(await ticket.issue(facts));
    expect(receipt.proof).toMatchObject({ size: 1 });
    await expect(ticket.issue(facts)).rejects.toMatchObject({ code: "internal" });
  });

  it("each: one signature per receipt, in its compact wire form; off: none", async () => {
    const { receipts } = setup("each");
    const wire = await receipts.begin().issue(facts);
    expect(parsed(wire).proof.mode).toBe("each");
    expect(wire!.header).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await setup("off").receipts.begin().issue(facts)).toBeUndefined();
  });
});
