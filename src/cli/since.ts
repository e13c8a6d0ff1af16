/** `--since` for logs and usage: an RFC 3339 time, or a duration back from now as Go writes it (`90s`, `5m`, `1h30m`). */
import { TfaasError } from "../shared/errors.js";
import { parseTimeOrAgo } from "../shared/units.js";

/** The RFC 3339 timestamp the gateway expects. */
export function sinceToTimestamp(value: string, now: Date = new Date()): string {
  const time = parseTimeOrAgo(value, now.getTime());
  if (time !== undefined) return time;
  throw new TfaasError("invalid-request", `Cannot read --since: current value is ${JSON.stringify(value)}; expected an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (30s, 5m, 1h30m)`);
}
