import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { toBase64Url } from "./bytes.js";
import { encodeContent } from "./canonical.js";
import {
  decodeReceiptHeader,
  encodeReceiptHeader,
  parseReceipt,
  rawPublicKey,
  receiptHash,
  ReceiptSigner,
  verifyReceipt,
  type ReceiptContent,
  type ReceiptInput,
  type ReceiptMode,
  type SignedReceipt,
} from "./index.js";
import { batchMessage, signMessage } from "./signatures.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const other = generateKeyPairSync("ed25519");
const digestOf = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

function input(i: number, overrides: Partial<ReceiptInput> = {}): ReceiptInput {
  return {
    callId: `call-${i}`,
    function: "echo.openfaas-fn",
    artifactDigest: digestOf("echo.wasm"),
    requestDigest: digestOf(`request ${i}`),
    responseDigest: digestOf(`response ${i}`),
    usage: { fuel: String(1000 + i), memoryPeakBytes: 65_536, ioBytesIn: 10 + i, ioBytesOut: 11 + i, wallNanos: 250_000 + i, weightsVersion: "v1" },
    status: 200,
    ...overrides,
  };
}

async function issueMany(mode: ReceiptMode, count: number, options: { batchSize?: number; workerId?: string } = {}): Promise<SignedReceipt[]> {
  const signer = new ReceiptSigner({ workerId: options.workerId ?? "worker-1", privateKey, mode, batchSize: options.batchSize ?? 64 });
  const receipts = await Promise.all(Array.from({ length: count }, (_, i) => signer.issue(input(i))));
  signer.close();
  return receipts;
}

const flipHex = (hex: string) => hex.slice(0, -1) + (hex.endsWith("0") ? "1" : "0");

/** One change per signed field; each must invalidate the receipt. */
const alterations: Array<[string, (c: ReceiptContent) => void]> = [
  ["callId", (c) => (c.callId += "x")],
  ["function", (c) => (c.function = "other.openfaas-fn")],
  ["artifactDigest", (c) => (c.artifactDigest = flipHex(c.artifactDigest))],
  ["requestDigest", (c) => (c.requestDigest = flipHex(c.requestDigest))],
  ["responseDigest", (c) => (c.responseDigest = flipHex(c.responseDigest))],
  ["usage.fuel", (c) => (c.usage.fuel = c.usage.fuel === null ? "1" : (BigInt(c.usage.fuel) - 1n).toString())],
  ["usage.fuel presence", (c) => (c.usage.fuel = c.usage.fuel === null ? "0" : null)],
  ["usage.memoryPeakBytes", (c) => (c.usage.memoryPeakBytes -= 1)],
  ["usage.ioBytesIn", (c) => (c.usage.ioBytesIn += 1)],
  ["usage.ioBytesOut", (c) => (c.usage.ioBytesOut += 1)],
  ["usage.wallNanos", (c) => (c.usage.wallNanos -= 1)],
  ["usage.weightsVersion", (c) => (c.usage.weightsVersion = c.usage.weightsVersion === "v1" ? "v2" : "v1")],
  ["status", (c) => (c.status = c.status === 200 ? 500 : 200)],
  ["workerId", (c) => (c.workerId += "x")],
  ["seq", (c) => (c.seq += 1)],
  ["prev", (c) => (c.prev = flipHex(c.prev!))],
  ["timestamp", (c) => (c.timestamp = new Date(Date.parse(c.timestamp) + 1).toISOString())],
];

const failedChecks = (receipt: SignedReceipt, key = publicKey) =>
  verifyReceipt(receipt, { publicKey: key }).checks.filter((check) => !check.ok).map((check) => check.name);

describe("canonical encoding", () => {
  it("lays out fields in a fixed order, so equal content gives equal bytes and hashes", async () => {
    const [receipt] = await issueMany("each", 1);
    const content = receipt!.content;
    const bytes = encodeContent(content);
    expect(bytes[0]).toBe(1);
    expect(bytes[1]).toBe("call-0".length);
    expect(bytes.subarray(2, 8).toString()).toBe("call-0");
    // Same content with keys inserted in another order encodes identically.
    const shuffled = Object.fromEntries(Object.entries(content).reverse()) as unknown as ReceiptContent;
    expect(encodeContent(shuffled).equals(bytes)).toBe(true);
    expect(receiptHash(content)).toBe(`sha256:${createHash("sha256").update(Buffer.of(0)).update(bytes).digest("hex")}`);
  });

  it("gives a different hash for every altered field", async () => {
    const [, receipt] = await issueMany("each", 2);
    const hashes = new Set([receiptHash(receipt!.content)]);
    for (const [, alter] of alterations) {
      const content = structuredClone(receipt!.content);
      alter(content);
      hashes.add(receiptHash(content));
    }
    expect(hashes.size).toBe(alterations.length + 1);
  });
});

describe("parseReceipt", () => {
  it("round-trips the JSON form", async () => {
    for (const mode of ["each", "batched"] as const) {
      const receipts = await issueMany(mode, 3);
      for (const receipt of receipts) expect(parseReceipt(JSON.parse(JSON.stringify(receipt)))).toEqual(receipt);
    }
  });

  it("refuses unknown fields, wrong shapes and non-canonical spellings, naming the field", async () => {
    const [first, second] = await issueMany("each", 2);
    const cases: Array<[RegExp, (r: any) => void]> = [
      [/receipt has unknown field\(s\) note/, (r) => (r.note = "unsigned")],
      [/usage has unknown field\(s\) gpu/, (r) => (r.content.usage.gpu = 1)],
      [/artifactDigest must be sha256/, (r) => (r.content.artifactDigest = r.content.artifactDigest.toUpperCase())],
      [/usage.fuel must be null or a decimal integer below 2\^64/, (r) => (r.content.usage.fuel = (2n ** 64n).toString())],
      [/usage.fuel must be/, (r) => (r.content.usage.fuel = "007")],
      [/timestamp must be an RFC 3339/, (r) => (r.content.timestamp = r.content.timestamp.replace(/\.\d{3}Z$/, "Z"))],
      [/status must be an integer from 100 to 599/, (r) => (r.content.status = 99)],
      [/seq must be an integer from 1/, (r) => (r.content.seq = 0)],
      [/usage.wallNanos must be an integer/, (r) => (r.content.usage.wallNanos = 1.5)],
      [/proof.signature must be a 64-byte base64url signature/, (r) => (r.proof.signature = r.proof.signature.slice(1))],
      [/proof.mode must be "each" or "batched"/, (r) => (r.proof.mode = "none")],
      [/callId must be a non-empty string of at most 255 UTF-8 bytes/, (r) => (r.content.callId = "é".repeat(128))],
    ];
    for (const [message, alter] of cases) {
      const value = structuredClone(second!) as any;
      alter(value);
      expect(() => parseReceipt(value), String(message)).toThrow(message);
    }
    const firstWithPrev = structuredClone(first!) as any;
    firstWithPrev.content.prev = receiptHash(second!.content);
    expect(() => parseReceipt(firstWithPrev)).toThrow(/prev must be null exactly when seq is 1/);
    const secondWithoutPrev = structuredClone(second!) as any;
    secondWithoutPrev.content.prev = null;
    expect(() => parseReceipt(secondWithoutPrev)).toThrow(/prev must be null exactly when seq is 1/);
    try {
      parseReceipt(null);
    } catch (error) {
      expect(error).toBeInstanceOf(TfaasError);
      expect((error as TfaasError).code).toBe("invalid-request");
    }
  });
});

describe("ReceiptSigner", () => {
  it("chains receipts: seq from 1, prev is the previous receipt's hash, timestamps never go back", async () => {
    const clockValues = [5_000, 4_000, 6_000];
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "each", clock: () => clockValues.shift()! });
    const receipts = [await signer.issue(input(0)), await signer.issue(input(1)), await signer.issue(input(2))];
    expect(receipts.map((r) => r.content.seq)).toEqual([1, 2, 3]);
    expect(receipts[0]!.content.prev).toBeNull();
    expect(receipts[1]!.content.prev).toBe(receiptHash(receipts[0]!.content));
    expect(receipts[2]!.content.prev).toBe(receiptHash(receipts[1]!.content));
    expect(receipts.map((r) => Date.parse(r.content.timestamp))).toEqual([5_000, 5_000, 6_000]);
    expect(signer.lastSeq).toBe(3);
    expect(rawPublicKey(signer.publicKey)).toEqual(rawPublicKey(publicKey));
  });

  it("rejects bad input without consuming a place in the chain, and refuses to issue after close", async () => {
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "each" });
    await expect(signer.issue(input(0, { status: 700 }))).rejects.toThrow(/status must be an integer from 100 to 599/);
    await expect(signer.issue(input(0, { requestDigest: "md5:00" }))).rejects.toThrow(/requestDigest must be sha256/);
    const receipt = await signer.issue(input(0));
    expect(receipt.content.seq).toBe(1);
    signer.close();
    await expect(signer.issue(input(1))).rejects.toMatchObject({ code: "unavailable" });
    const broken = new ReceiptSigner({ workerId: "w", privateKey, mode: "each", clock: () => NaN });
    await expect(broken.issue(input(0))).rejects.toThrow(/the clock reads NaN/);
    expect(broken.lastSeq).toBe(0);
  });

  it("refuses keys that are not Ed25519 private keys and batch sizes out of range", () => {
    expect(() => new ReceiptSigner({ workerId: "w", privateKey: publicKey, mode: "each" })).toThrow(/expected an Ed25519 private key/);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    expect(() => new ReceiptSigner({ workerId: "w", privateKey: ec, mode: "each" })).toThrow(/current value is a ec private key/);
    expect(() => new ReceiptSigner({ workerId: "w", privateKey, mode: "batched", batchSize: 0 })).toThrow(/batchSize must be 1 to 65536/);
    expect(() => new ReceiptSigner({ workerId: "w", privateKey, mode: "sometimes" as ReceiptMode })).toThrow(/mode must be each or batched, current value is sometimes/);
  });

  it("closes a batch by count: one signed root, every receipt a leaf with its index", async () => {
    const receipts = await issueMany("batched", 10, { batchSize: 4 });
    const proofs = receipts.map((r) => r.proof);
    expect(proofs.every((p) => p.mode === "batched")).toBe(true);
    const batched = proofs.map((p) => (p.mode === "batched" ? p : undefined)!);
    expect(batched.map((p) => p.size)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 2, 2]);
    expect(batched.map((p) => p.index)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    expect(new Set(batched.map((p) => p.root)).size).toBe(3);
    expect(new Set(batched.slice(0, 4).map((p) => p.signature)).size).toBe(1);
    for (const receipt of receipts) expect(verifyReceipt(receipt, { publicKey }).ok).toBe(true);
  });

  it("closes a batch by time, and at once on flush", async () => {
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "batched", batchSize: 64, batchDelayMs: 5 });
    const started = performance.now();
    const byTime = await Promise.all([signer.issue(input(0)), signer.issue(input(1))]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(4);
    expect(byTime.map((r) => (r.proof.mode === "batched" ? r.proof.size : 0))).toEqual([2, 2]);
    const slow = new ReceiptSigner({ workerId: "w", privateKey, mode: "batched", batchDelayMs: 60_000 });
    const pending = slow.issue(input(0));
    slow.flush();
    const flushed = await pending;
    expect(flushed.proof).toMatchObject({ mode: "batched", size: 1, index: 0, siblings: [] });
    expect(verifyReceipt(flushed, { publicKey }).ok).toBe(true);
  });
});

describe("X-Tfaas-Receipt header", () => {
  it("round-trips both modes and stays small (each ≈ 450 chars, depth 10 well under 8 KiB)", async () => {
    const [each] = await issueMany("each", 1);
    const eachHeader = encodeReceiptHeader(each!);
    expect(decodeReceiptHeader(eachHeader)).toEqual(each);
    expect(eachHeader.length).toBeLessThan(600);
    const batch = await issueMany("batched", 1024, { batchSize: 1024 });
    const deep = batch[777]!;
    expect(deep.proof.mode === "batched" && deep.proof.siblings.length).toBe(10);
    const deepHeader = encodeReceiptHeader(deep);
    expect(decodeReceiptHeader(deepHeader)).toEqual(deep);
    expect(deepHeader.length).toBeLessThan(1400);
    expect(/^[A-Za-z0-9_-]+$/.test(deepHeader)).toBe(true);
  });

  it("rejects truncated, extended, re-spelled and unknown-mode headers as invalid-request", async () => {
    const [receipt] = await issueMany("each", 1);
    const header = encodeReceiptHeader(receipt!);
    const bytes = Buffer.from(header, "base64url");
    const cases: Array<[string, RegExp]> = [
      [toBase64Url(bytes.subarray(0, bytes.length - 1)), /proof.signature at offset \d+ needs 64 bytes/],
      [toBase64Url(Buffer.concat([bytes, Buffer.of(0)])), /1 trailing bytes/],
      [toBase64Url(Buffer.concat([bytes.subarray(0, bytes.length - 65), Buffer.of(9), bytes.subarray(bytes.length - 64)])), /proof.mode .* is 9/],
      [header + "=", /not canonical base64url/],
      [toBase64Url(Buffer.concat([Buffer.of(2), bytes.subarray(1)])), /v at offset 1 is 2, expected 1/],
    ];
    for (const [value, message] of cases) {
      expect(() => decodeReceiptHeader(value), String(message)).toThrow(message);
    }
  });
});

describe("verifyReceipt", () => {
  it("passes genuine receipts and checks the bodies when given", async () => {
    const signer = new ReceiptSigner({ workerId: "w", privateKey, mode: "each" });
    const receipt = await signer.issue(input(0, { requestDigest: digestOf("ping"), responseDigest: digestOf("pong") }));
    const good = verifyReceipt(receipt, { publicKey: rawPublicKey(publicKey), request: Buffer.from("ping"), response: Buffer.from("pong") });
    expect(good.ok).toBe(true);
    expect(good.checks.map((c) => c.name)).toEqual(["receipt.signature", "receipt.request-digest", "receipt.response-digest"]);
    const swapped = verifyReceipt(receipt, { publicKey, request: Buffer.from("pong"), response: Buffer.from("pong") });
    expect(swapped.ok).toBe(false);
    expect(swapped.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["receipt.request-digest"]);
  });

  it("detects a forged signature and a receipt checked against another key", async () => {
    const [receipt] = await issueMany("each", 1);
    const forged = { ...receipt!, proof: { mode: "each" as const, signature: toBase64Url(randomBytes(64)) } };
    expect(failedChecks(forged)).toEqual(["receipt.signature"]);
    expect(failedChecks(receipt!, other.publicKey)).toEqual(["receipt.signature"]);
  });

  it("detects every altered field, in both modes", async () => {
    for (const mode of ["each", "batched"] as const) {
      const receipts = await issueMany(mode, 8);
      for (const [field, alter] of alterations) {
        const receipt = structuredClone(receipts[3]!);
        alter(receipt.content);
        expect(failedChecks(receipt), `${mode}: ${field}`).toEqual(mode === "each" ? ["receipt.signature"] : ["receipt.merkle-proof"]);
      }
    }
  });

  it("detects a proof for the wrong leaf, a wrong sibling, a wrong size, and a root signed by another key", async () => {
    const receipts = await issueMany("batched", 8);
    const target = receipts[2]!;
    const proofOf = (r: SignedReceipt) => (r.proof.mode === "batched" ? r.proof : undefined)!;

    const wrongLeaf = { content: receipts[5]!.content, proof: proofOf(target) };
    expect(failedChecks(wrongLeaf)).toEqual(["receipt.merkle-proof"]);
    const wrongIndex = structuredClone(target);
    proofOf(wrongIndex).index = 3;
    expect(failedChecks(wrongIndex)).toEqual(["receipt.merkle-proof"]);
    const wrongSibling = structuredClone(target);
    proofOf(wrongSibling).siblings[1] = flipHex(proofOf(wrongSibling).siblings[1]!);
    expect(failedChecks(wrongSibling)).toEqual(["receipt.merkle-proof"]);
    const wrongSize = structuredClone(target);
    proofOf(wrongSize).size = 7;
    expect(failedChecks(wrongSize)).toEqual(["receipt.batch-signature"]);

    const { root, size } = proofOf(target);
    const resigned = structuredClone(target);
    proofOf(resigned).signature = toBase64Url(signMessage(batchMessage(size, Buffer.from(root, "hex")), other.privateKey));
    expect(failedChecks(resigned)).toEqual(["receipt.batch-signature"]);
    expect(verifyReceipt(resigned, { publicKey: other.publicKey }).ok).toBe(true);
    expect(verifyReceipt(resigned, { publicKey }).checks.find((c) => !c.ok)!.detail).toMatch(/does not verify with the given key/);
  });

  it("reports a malformed receipt or key as a failed check instead of throwing", () => {
    expect(verifyReceipt({} as SignedReceipt, { publicKey }).checks).toMatchObject([{ name: "receipt.format", ok: false }]);
    expect(verifyReceipt({} as SignedReceipt, { publicKey: new Uint8Array(31) }).checks).toMatchObject([{ name: "receipt.public-key", ok: false }]);
  });
});

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe("property: random receipts in both modes", () => {
  it("verify, survive JSON and header round trips, and fail under any single alteration", async () => {
    const next = random(20_260_526);
    const int = (max: number) => Math.floor(next() * max);
    for (const mode of ["each", "batched"] as const) {
      const signer = new ReceiptSigner({ workerId: `worker-${mode}-${int(1e6)}`, privateKey, mode, batchSize: 1 + int(40) });
      const inputs = Array.from({ length: 150 }, (_, i): ReceiptInput => {
        const withFuel = next() < 0.8;
        return {
          callId: `c-${i}-${int(2 ** 31).toString(36)}`,
          function: `fn${int(5)}.ns${int(2)}`,
          artifactDigest: digestOf(`a${int(3)}`),
          requestDigest: digestOf(`q${i}`),
          responseDigest: digestOf(`r${i}`),
          usage: {
            fuel: withFuel ? (BigInt(int(2 ** 32)) * BigInt(int(2 ** 32))).toString() : null,
            memoryPeakBytes: int(2 ** 40),
            ioBytesIn: int(2 ** 20),
            ioBytesOut: int(2 ** 20),
            wallNanos: int(Number.MAX_SAFE_INTEGER),
            weightsVersion: withFuel ? `v${1 + int(3)}` : null,
          },
          status: 100 + int(500),
        };
      });
      const receipts = await Promise.all(inputs.map((i) => signer.issue(i)));
      signer.close();
      for (const receipt of receipts) {
        expect(verifyReceipt(receipt, { publicKey }).ok).toBe(true);
        expect(parseReceipt(JSON.parse(JSON.stringify(receipt)))).toEqual(receipt);
        const decoded = decodeReceiptHeader(encodeReceiptHeader(receipt));
        expect(decoded).toEqual(receipt);
        const [field, alter] = alterations[int(alterations.length)]!;
        const altered = structuredClone(receipt);
        if (altered.content.prev === null && field === "prev") continue;
        alter(altered.content);
        expect(verifyReceipt(altered, { publicKey }).ok, `${mode} seq ${receipt.content.seq}: ${field}`).toBe(false);
      }
    }
  });
});
