/** Output for people (aligned tables, `Key: value` blocks) and for scripts (`--json`). */
import type { CliIo } from "./io.js";

/** Columns padded to their widest cell, separated by three spaces; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** `Key: value` lines with aligned values; entries whose value is undefined are left out. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = fields.filter((entry): entry is readonly [string, string] => entry[1] !== undefined);
  const width = Math.max(0, ...shown.map(([key]) => key.length + 1));
  return shown.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`.trimEnd()).join("\n") + "\n";
}

/** A map as `k=v, k=v` in key order, or `-` when empty. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "-" : entries.map(([key, value]) => `${key}=${value}`).join(", ");
}

/** `sha256:` and the first 12 hex digits: enough to tell artifacts apart at a glance. */
export function shortDigest(digest: string): string {
  return /^sha256:[0-9a-f]{13,}$/.test(digest) ? `${digest.slice(0, 19)}…` : digest;
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
