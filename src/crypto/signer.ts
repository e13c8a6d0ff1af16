/**
 * The worker's side: turns each invocation's facts into the next receipt of its chain and signs
 * it, one by one (`each`) or under a Merkle root once per batch (`batched`).
 *
 * Sequence number, previous hash and timestamp are fixed synchronously when `issue` is called, so
 * chain order is call order. In batched mode the promise settles when the batch closes: at
 * `batchSize` receipts or `batchDelayMs` after the batch's first receipt, whichever comes first,
 * which bounds the latency a call pays for sharing one signature. A worker that calls `flush()`
 * whenever it has no further call queued pays no latency when idle and batches under load.
 *
 * Issued receipts are frozen: copy one (`structuredClone`) to change it.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { toBase64Url } from "./bytes.js";
import { encodeContent, hashEncoded } from "./canonical.js";
import { registerIssued, type HeaderParts } from "./header.js";
import { expectPrivateSigningKey } from "./keys.js";
import { buildTree } from "./merkle.js";
import { contentFromInput, expectIdentifier, MAX_BATCH_SIZE, MAX_TIMESTAMP_MILLIS, type ReceiptContent, type ReceiptInput, type ReceiptMode, type SignedReceipt } from "./receipt.js";
import { batchMessage, receiptMessage, signMessage } from "./signatures.js";

export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_BATCH_DELAY_MS = 5;

export interface ReceiptSignerOptions {
  /** Identifies this key's chain; must be new whenever the key is (every worker process start). */
  workerId: string;
  /** Ed25519 private key, generated inside the worker; its public half is what attestation binds. */
  privateKey: KeyObject;
  mode: ReceiptMode;
  /** Batched mode: close a batch when it holds this many receipts (default 64). */
  batchSize?: number;
  /** Batched mode: close a batch this many milliseconds after its first receipt (default 5). */
  batchDelayMs?: number;
  /** Milliseconds since the Unix epoch (default `Date.now`); timestamps never go backwards even if it does. */
  clock?: () => number;
}

interface PendingLeaf {
  content: ReceiptContent;
  encoded: Buffer;
  leaf: Buffer;
  resolve(receipt: SignedReceipt): void;
  reject(error: unknown): void;
}

/** Freezes a receipt (so it cannot drift from its registered encoding) and registers it for header writing. */
function issued(receipt: SignedReceipt, parts: HeaderParts): SignedReceipt {
  Object.freeze(receipt.content.usage);
  Object.freeze(receipt.content);
  if (receipt.proof.mode === "batched") Object.freeze(receipt.proof.siblings);
  Object.freeze(receipt.proof);
  registerIssued(Object.freeze(receipt), parts);
  return receipt;
}

export class ReceiptSigner {
  readonly workerId: string;
  readonly mode: ReceiptMode;
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  private readonly batchSize: number;
  private readonly batchDelayMs: number;
  private readonly clock: () => number;
  private seq = 0;
  private prev: string | null = null;
  private lastMillis = -1;
  private lastTimestamp = "";
  private pending: PendingLeaf[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: ReceiptSignerOptions) {
    expectPrivateSigningKey(options.privateKey, "receipt signing key");
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    const batchDelayMs = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new TfaasError("invalid-request", `Cannot create receipt signer: batchSize must be 1 to ${MAX_BATCH_SIZE}, current value is ${batchSize}`);
    }
    if (options.mode !== "each" && options.mode !== "batched") {
      throw new TfaasError("invalid-request", `Cannot create receipt signer: mode must be each or batched, current value is ${String(options.mode)}`);
    }
    if (!(batchDelayMs >= 0 && batchDelayMs <= 60_000)) {
      throw new TfaasError("invalid-request", `Cannot create receipt signer: batchDelayMs must be 0 to 60000, current value is ${batchDelayMs}`);
    }
    this.workerId = expectIdentifier("workerId", options.workerId);
    this.mode = options.mode;
    this.privateKey = options.privateKey;
    this.publicKey = createPublicKey(options.privateKey);
    this.batchSize = batchSize;
    this.batchDelayMs = batchDelayMs;
    this.clock = options.clock ?? Date.now;
  }

  /** Sequence number of the last receipt issued (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * The next receipt of the chain for one invocation. Rejects, leaving the chain untouched, with
   * `invalid-request` when a field is out of range, `internal` when the clock is outside
   * 1970–9999, and `unavailable` after `close`.
   */
  issue(input: ReceiptInput): Promise<SignedReceipt> {
    if (this.closed) return Promise.reject(new TfaasError("unavailable", `Cannot issue receipt: signer for worker ${this.workerId} is closed`));
    let content: ReceiptContent;
    let encoded: Buffer;
    let hash: Buffer;
    const millis = Math.max(Math.floor(this.clock()), this.lastMillis);
    if (!(millis >= 0 && millis <= MAX_TIMESTAMP_MILLIS)) {
      return Promise.reject(new TfaasError("internal", `Cannot issue receipt: the clock reads ${millis}, expected milliseconds since 1970`));
    }
    // Calls in the same millisecond share one timestamp string.
    const timestamp = millis === this.lastMillis ? this.lastTimestamp : new Date(millis).toISOString();
    try {
      content = contentFromInput(input, { workerId: this.workerId, seq: this.seq + 1, prev: this.prev, timestamp });
      encoded = encodeContent(content, millis);
      hash = hashEncoded(encoded);
    } catch (error) {
      return Promise.reject(error);
    }
    this.seq = content.seq;
    this.prev = `sha256:${hash.toString("hex")}`;
    this.lastMillis = millis;
    this.lastTimestamp = timestamp;

    if (this.mode === "each") {
      const signature = signMessage(receiptMessage(hash), this.privateKey);
      return Promise.resolve(issued({ content, proof: { mode: "each", signature: toBase64Url(signature) } }, { content: encoded, signature }));
    }
    return new Promise<SignedReceipt>((resolve, reject) => {
      this.pending.push({ content, encoded, leaf: hash, resolve, reject });
      if (this.pending.length >= this.batchSize) this.closeBatch();
      else if (this.pending.length === 1) this.timer = setTimeout(() => this.closeBatch(), this.batchDelayMs);
    });
  }

  /** Closes the open batch now (no-op when there is none), settling its receipts. */
  flush(): void {
    this.closeBatch();
  }

  /** Flushes and refuses further receipts; call before the worker exits. */
  close(): void {
    this.closeBatch();
    this.closed = true;
  }

  private closeBatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      const { root, paths } = buildTree(batch.map((entry) => entry.leaf));
      const signature = signMessage(batchMessage(batch.length, root), this.privateKey);
      const signatureText = toBase64Url(signature);
      const rootHex = root.toString("hex");
      const size = batch.length;
      // Upper nodes appear in many paths: spell each node in hex once per batch.
      const hexOf = new Map<Buffer, string>();
      const hex = (node: Buffer) => hexOf.get(node) ?? hexOf.set(node, node.toString("hex")).get(node)!;
      batch.forEach((entry, index) => {
        const path = paths[index]!;
        const siblings = path.map(hex);
        const receipt: SignedReceipt = { content: entry.content, proof: { mode: "batched", root: rootHex, size, index, siblings, signature: signatureText } };
        entry.resolve(issued(receipt, { content: entry.encoded, signature, batch: { size, index, siblings: path } }));
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
