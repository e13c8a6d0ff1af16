/** Parsers for the units OpenFaaS users write: Go durations ("30s", "1m30s", "500ms") and Kubernetes quantities ("128Mi"). */

const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a Go duration string; a bare number means seconds (as the OpenFaaS watchdog reads it). Undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < trimmed.length) {
    part.lastIndex = index;
    const match = part.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * durationUnits[match[2]!]!;
    index = part.lastIndex;
  }
  return index > 0 ? total : undefined;
}

const quantityUnits: Record<string, number> = {
  "": 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Bytes in a Kubernetes memory quantity ("128Mi", "1G", "65536"). Undefined when malformed. */
export function parseQuantityBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * quantityUnits[match[2] ?? ""]!);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** A duration back from now: Go's spelling with units ms, s, m, h and no bare number ("90s", "1h30m"). */
const AGO = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/**
 * An RFC 3339 time, or a duration meaning that long before `now` ("5m", "1h30m"), as ISO 8601 in
 * UTC; undefined when neither. The one reading of `since`/`until` for the CLI and the gateway.
 */
export function parseTimeOrAgo(text: string, now: number = Date.now()): string | undefined {
  if (RFC3339.test(text)) {
    const time = Date.parse(text);
    if (!Number.isNaN(time)) return new Date(time).toISOString();
  }
  const ago = AGO.test(text) ? parseDurationMs(text) : undefined;
  return ago === undefined ? undefined : new Date(now - ago).toISOString();
}
