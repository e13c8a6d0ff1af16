/**
 * The worker's side: turns each invocation's facts into the next receipt of its chain and signs
 * it, one by one (`each`) or under a Merkle root once per batch (`batched`).
 *
 * Sequence number, previous hash and timestamp are fixed synchronously when `issue` is called, so
 * chain order is call order. In batched mode the promise settles when the batch closes: at
 * `batchSize` receipts or `batchDelayMs` after the batch's first receipt, whichever comes first,
 * which bounds the latency a call pays for sharing one signature.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { toBase64Url } from "./bytes.js";
import { encodeContent, sha256 } from "./canonical.js";
import { expectPrivateSigningKey } from "./keys.js";
import { buildTree, leafHash } from "./merkle.js";
import { contentFromInput, expectIdentifier, MAX_BATCH_SIZE, type ReceiptContent, type ReceiptInput, type ReceiptMode, type SignedReceipt } from "./receipt.js";
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
  leaf: Buffer;
  resolve(receipt: SignedReceipt): void;
  reject(error: unknown): void;
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
  private lastMillis = 0;
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
   * The next receipt of the chain for one invocation. Rejects with `invalid-request` (and leaves
   * the chain untouched) when a field is out of range, and with `unavailable` after `close`.
   */
  issue(input: ReceiptInput): Promise<SignedReceipt> {
    if (this.closed) return Promise.reject(new TfaasError("unavailable", `Cannot issue receipt: signer for worker ${this.workerId} is closed`));
    let content: ReceiptContent;
    let hash: Buffer;
    const millis = Math.max(this.clock(), this.lastMillis);
    try {
      content = contentFromInput(input, { workerId: this.workerId, seq: this.seq + 1, prev: this.prev, timestamp: new Date(millis).toISOString() });
      hash = sha256(encodeContent(content));
    } catch (error) {
      return Promise.reject(error);
    }
    this.seq = content.seq;
    this.prev = `sha256:${hash.toString("hex")}`;
    this.lastMillis = millis;

    if (this.mode === "each") {
      const signature = toBase64Url(signMessage(receiptMessage(hash), this.privateKey));
      return Promise.resolve({ content, proof: { mode: "each", signature } });
    }
    return new Promise<SignedReceipt>((resolve, reject) => {
      this.pending.push({ content, leaf: leafHash(hash), resolve, reject });
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
      const signature = toBase64Url(signMessage(batchMessage(batch.length, root), this.privateKey));
      const rootHex = root.toString("hex");
      batch.forEach((entry, index) => {
        const siblings = paths[index]!.map((sibling) => sibling.toString("hex"));
        entry.resolve({ content: entry.content, proof: { mode: "batched", root: rootHex, size: batch.length, index, siblings, signature } });
      });
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
