/**
 * The worker's receipts: one per invocation that reached a sandbox and produced a result, issued with the worker's
 * ReceiptSigner (mode each or batched) or none when receipts are off.
 *
 * Batched mode flushes when the worker is idle: a call counts as queued from the moment its
 * message arrives until its receipt is requested; when none is queued after the event loop has
 * read every IPC message already waiting (setImmediate runs after the poll phase), the open batch
 * is signed at once, so a lone call never waits for the batch timer while calls arriving together
 * share one signature.
 */
import type { KeyObject } from "node:crypto";
import { bodyDigest, encodeReceiptHeader, ReceiptSigner } from "../crypto/index.js";
import type { InvocationUsage } from "../sandbox/index.js";
import { TfaasError } from "../shared/errors.js";
import type { ReceiptsSetting } from "./config.js";
import type { WireReceipt } from "./wire.js";

/**
 * Batched mode closes a batch at 16 receipts, after its first receipt has waited 1 ms, or when
 * the worker has no further call queued (the signer's own 5 ms timer is the last resort). The
 * bounds are small on purpose: a call's response waits for its batch, and under closed-loop load a
 * worker whose answers wait gets no new work until it idles. Cheap calls still share a signature
 * among many; slow calls add at most about a millisecond.
 */
export const MAX_BATCH_HOLD_MS = 1;
export const WORKER_BATCH_SIZE = 16;

export interface CallFacts {
  callId: string;
  /** `name.namespace`. */
  function: string;
  artifactDigest: string;
  request: Uint8Array;
  response: Uint8Array;
  status: number;
  usage: InvocationUsage;
  wallNanos: number;
}

/** One call's claim on a receipt; only its first use counts. */
export interface CallTicket {
  /** The call's receipt in its compact wire form (settles when its batch is signed), or undefined when receipts are off. */
  issue(facts: CallFacts): Promise<WireReceipt | undefined>;
  /** The call ended without a result to sign (a platform failure). */
  abandon(): void;
}

export class WorkerReceipts {
  readonly #signer: ReceiptSigner | undefined;
  #queued = 0;
  #flushScheduled = false;
  /** Receipts in the open batch, as far as this object closed batches, and when the batch opened. */
  #open = 0;
  #openedAt = 0;

  constructor(options: { workerId: string; privateKey: KeyObject; mode: ReceiptsSetting }) {
    this.#signer =
      options.mode === "off"
        ? undefined
        : new ReceiptSigner({ workerId: options.workerId, privateKey: options.privateKey, mode: options.mode, batchSize: WORKER_BATCH_SIZE });
  }

  /** A call arrived: it counts as queued until its ticket is used. */
  begin(): CallTicket {
    this.#queued++;
    let open = true;
    const done = (): boolean => {
      if (!open) return false;
      open = false;
      this.#queued--;
      return true;
    };
    return {
      issue: (facts) => {
        if (!done()) return Promise.reject(new TfaasError("internal", "Cannot issue receipt: current call already has one"));
        return this.#issue(facts);
      },
      abandon: () => {
        if (done()) this.#flushWhenIdle();
      },
    };
  }

  async #issue(facts: CallFacts): Promise<WireReceipt | undefined> {
    if (this.#signer === undefined) return undefined;
    const pending = this.#signer.issue({
      callId: facts.callId,
      function: facts.function,
      artifactDigest: facts.artifactDigest,
      requestDigest: bodyDigest(facts.request),
      responseDigest: bodyDigest(facts.response),
      usage: {
        fuel: facts.usage.fuel === null ? null : facts.usage.fuel.toString(),
        memoryPeakBytes: facts.usage.memoryPeakBytes,
        ioBytesIn: facts.usage.ioBytesIn,
        ioBytesOut: facts.usage.ioBytesOut,
        wallNanos: facts.wallNanos,
        weightsVersion: facts.usage.weightsVersion,
      },
      status: facts.status,
    });
    if (this.#signer.mode === "batched") {
      if (this.#open++ === 0) this.#openedAt = performance.now();
      if (this.#open >= WORKER_BATCH_SIZE || performance.now() - this.#openedAt >= MAX_BATCH_HOLD_MS) this.#flush();
      else this.#flushWhenIdle();
    }
    // Encoded here, where the signer's raw parts are at hand: the gateway relays and stores this string.
    return { header: encodeReceiptHeader(await pending) };
  }

  #flush(): void {
    this.#open = 0;
    this.#signer?.flush();
  }

  /** Signs what is pending and refuses more; before the worker exits. */
  close(): void {
    this.#signer?.close();
  }

  #flushWhenIdle(): void {
    if (this.#signer?.mode !== "batched" || this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#queued === 0) this.#flush();
    });
  }
}
