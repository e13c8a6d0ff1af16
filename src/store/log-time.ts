/**
 * Log timestamps are RFC 3339 on the wire and milliseconds since the epoch in storage, so that
 * entries written with different offsets or precisions still sort and compare correctly.
 */
import { TfaasError } from "../shared/errors.js";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch; sub-millisecond digits are dropped (floor), which keeps "strictly after" exact for millisecond entries. */
export function parseLogTime(value: string, what: string): number {
  const normalized = value.toUpperCase();
  const ms = RFC3339.test(normalized) ? Date.parse(normalized) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new TfaasError(
      "invalid-request",
      `Cannot use ${what}: current value is ${JSON.stringify(value.slice(0, 80))}, expected an RFC 3339 time`,
    );
  }
  return ms;
}

export function formatLogTime(ms: number): string {
  return new Date(ms).toISOString();
}
