/**
 * Capped exponential backoff with jitter: attempt n waits between half and all of
 * min(max, base × 2^(n−1)), so callers that failed together do not retry together.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export function backoffDelayMs(attempt: number, { baseMs, maxMs }: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}
