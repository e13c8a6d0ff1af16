/** `--since` for logs: an RFC 3339 time, or a duration back from now as Go writes it (`90s`, `5m`, `1h30m`). */
import { TfaasError } from "../shared/errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The RFC 3339 timestamp the gateway expects. */
export function sinceToTimestamp(value: string, now: Date = new Date()): string {
  if (RFC3339.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  if (DURATION.test(value)) {
    let total = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * (UNIT_MS[unit ?? ""] ?? 0);
    return new Date(now.getTime() - total).toISOString();
  }
  throw new TfaasError("invalid-request", `Cannot read --since: current value is ${JSON.stringify(value)}; expected an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (30s, 5m, 1h30m)`);
}
