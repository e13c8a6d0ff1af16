/** Per-function settings of asynchronous calls, read from the function's annotations (or labels). */
import { TfaasError } from "../shared/errors.js";

export const AsyncAnnotations = {
  /** Calls of the function running at once (default: the platform's, 1 unless configured). */
  concurrency: "com.tfaas.async.concurrency",
  /** Attempts of each call, the first included, when it answers 429 or 5xx. */
  maxAttempts: "com.tfaas.async.max-attempts",
} as const;

export interface FunctionLimits {
  concurrency: number;
  maxAttempts: number;
}

const MAX_SETTING = 1000;

/** Fails with `invalid-request` naming the annotation when a value is not a whole number from 1 to 1000. */
export function functionLimits(meta: Readonly<Record<string, string>>, defaults: FunctionLimits): FunctionLimits {
  return {
    concurrency: read(meta, AsyncAnnotations.concurrency) ?? defaults.concurrency,
    maxAttempts: read(meta, AsyncAnnotations.maxAttempts) ?? defaults.maxAttempts,
  };
}

function read(meta: Readonly<Record<string, string>>, key: string): number | undefined {
  const text = meta[key];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < 1 || value > MAX_SETTING) {
    throw new TfaasError("invalid-request", `Cannot read annotation ${key}: current value is ${JSON.stringify(text)}, expected a whole number from 1 to ${MAX_SETTING}`);
  }
  return value;
}
