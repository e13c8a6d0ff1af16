/**
 * The Queue: durable asynchronous calls. Embedded mode implements it on SQLite
 * (`openSqliteQueue`); distributed mode will implement it on NATS JetStream. Every
 * implementation passes the same contract suite (`queue.contract.ts`).
 *
 * A queue only keeps state; running calls, retrying them and delivering callbacks is the
 * Dispatcher's job. Times are milliseconds since the epoch, passed in so tests control them.
 */

export type CallState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type FinishedState = "succeeded" | "failed";
export type CallbackState = "pending" | "delivered" | "failed";

/** The request as the function will see it (headers lower-case, without Authorization). */
export interface CallRequest {
  method: string;
  /** Path below the function's root, starting with "/". */
  path: string;
  /** Raw query string without "?". */
  query: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface NewCall {
  callId: string;
  name: string;
  namespace: string;
  request: CallRequest;
  /** Already validated against the callback policy. */
  callbackUrl?: string;
  now: number;
}

/** What the last attempt answered. */
export interface CallResult {
  statusCode: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
  durationSeconds: number;
}

export interface CallbackRecord {
  url: string;
  state: CallbackState;
  attempts: number;
  lastError?: string;
  /** When the next delivery attempt is due (pending only). */
  nextAt?: number;
}

export interface CallRecord {
  callId: string;
  name: string;
  namespace: string;
  state: CallState;
  /** Attempts started so far, counted when each starts (a crash mid-attempt still counts it). */
  attempts: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** The status of the last finished attempt. */
  statusCode?: number;
  /** Present once the call has finished, until it is swept. */
  result?: CallResult;
  callback?: CallbackRecord;
}

export interface ClaimedCall {
  callId: string;
  name: string;
  namespace: string;
  /** Including the attempt this claim starts. */
  attempts: number;
  request: CallRequest;
  callbackUrl?: string;
}

export interface Claim {
  /** The next call of the function, now `running`; absent when none is ready. */
  call?: ClaimedCall;
  /** When no call is ready: when the function's next queued call becomes ready (absent: none queued). */
  nextReadyAt?: number;
}

export interface WaitingFunction {
  name: string;
  namespace: string;
  /** The earliest time one of its queued calls becomes ready. */
  readyAt: number;
}

export interface Queue {
  /**
   * Durable when the promise resolves. Fails with `too-many-requests` when `maxDepth` calls are
   * queued, and with `conflict` when the call id is taken.
   */
  enqueue(call: NewCall): Promise<void>;
  /** Claims the oldest ready queued call of one function (arrival order), counting an attempt. */
  claim(name: string, namespace: string, now: number): Promise<Claim>;
  /** Functions with queued calls. */
  waiting(): Promise<WaitingFunction[]>;
  /** A running call goes back to the queue, to be claimed no earlier than `notBefore`. */
  retry(callId: string, result: CallResult, notBefore: number): Promise<void>;
  /** A running call ends; its request is dropped and its result kept; a callback becomes pending. */
  finish(callId: string, state: FinishedState, result: CallResult, now: number): Promise<void>;
  /** Cancels a queued call. Answers the state it had (undefined: unknown call); only `queued` changes. */
  cancel(callId: string, now: number): Promise<CallState | undefined>;
  get(callId: string): Promise<CallRecord | undefined>;
  /** Counts a callback delivery attempt before it is made; answers the attempt number. */
  startCallback(callId: string): Promise<number>;
  /** Records a delivery's outcome: `pending` with `nextAt` schedules another attempt. */
  settleCallback(callId: string, state: CallbackState, lastError: string | undefined, nextAt: number | undefined): Promise<void>;
  /** Finished calls whose callback is still pending (to resume delivery after a restart). */
  pendingCallbacks(): Promise<CallRecord[]>;
  /** Removes finished calls older than `finishedBefore` whose callback is settled; answers how many. */
  sweep(finishedBefore: number): Promise<number>;
  /** Calls in state `queued`. */
  depth(): Promise<number>;
  /** Idempotent; waits for writes under way. Afterwards every method fails with `unavailable`. */
  close(): Promise<void>;
}
