/**
 * A call's state as the queue keeps it in its KV bucket (one key per call, JSON). The request
 * itself travels in the work-queue stream (the ticket) and the result body lives beside the
 * state (bodies.ts), so scans over call states stay small.
 */
import type { CallbackState, CallRecord, CallResult, CallState } from "../queue.js";

export interface CallDoc {
  callId: string;
  name: string;
  namespace: string;
  state: CallState;
  attempts: number;
  createdAt: number;
  /** Not claimable before this time (the caller's clock). */
  notBefore: number;
  /** The ticket's stream sequence (0 until it is published). */
  seq: number;
  /** The request body went to the object store (too large for a ticket). */
  requestInObject: boolean;
  startedAt?: number;
  finishedAt?: number;
  statusCode?: number;
  /** The final result's metadata; its body is stored under the call's key (bodies.ts). */
  result?: { statusCode: number; headers: Record<string, string>; durationSeconds: number; bodyInObject: boolean };
  callback?: { url: string; state: CallbackState; attempts: number; lastError?: string; nextAt?: number };
}

export const FINISHED: ReadonlySet<CallState> = new Set(["succeeded", "failed", "cancelled"]);

export function recordOf(doc: CallDoc, resultBody: Uint8Array | undefined): CallRecord {
  const record: CallRecord = {
    callId: doc.callId,
    name: doc.name,
    namespace: doc.namespace,
    state: doc.state,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
  };
  if (doc.startedAt !== undefined) record.startedAt = doc.startedAt;
  if (doc.finishedAt !== undefined) record.finishedAt = doc.finishedAt;
  if (doc.statusCode !== undefined) record.statusCode = doc.statusCode;
  if (doc.result !== undefined) {
    const result: CallResult = {
      statusCode: doc.result.statusCode,
      headers: doc.result.headers,
      body: resultBody ?? new Uint8Array(0),
      durationSeconds: doc.result.durationSeconds,
    };
    record.result = result;
  }
  if (doc.callback !== undefined) record.callback = { ...doc.callback };
  return record;
}
