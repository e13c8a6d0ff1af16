import { describe, expect, it } from "vitest";
import { parseDurationMs, parseQuantityBytes, parseTimeOrAgo } from "./units.js";

describe("parseDurationMs", () => {
  it.each([
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1.5h", 5_400_000],
    ["10", 10_000],
  ])("reads %s", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(["", "s", "10x", "1m 30s", "-1s"])("rejects %j", (text) => expect(parseDurationMs(text)).toBeUndefined());
});

describe("parseQuantityBytes", () => {
  it.each([
    ["128Mi", 128 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["64k", 64_000],
    ["65536", 65_536],
  ])("reads %s", (text, bytes) => expect(parseQuantityBytes(text)).toBe(bytes));

  it.each(["", "Mi", "12 Mi", "1.5.5Gi", "-1Mi"])("rejects %j", (text) => expect(parseQuantityBytes(text)).toBeUndefined());
});

describe("parseTimeOrAgo", () => {
  const now = Date.parse("2026-03-01T12:00:00.000Z");

  it("reads RFC 3339 times (normalised to UTC) and Go durations back from now", () => {
    expect(parseTimeOrAgo("2026-02-28T10:00:00+02:00", now)).toBe("2026-02-28T08:00:00.000Z");
    expect(parseTimeOrAgo("2026-02-28 10:00:00.5z", now)).toBe("2026-02-28T10:00:00.500Z");
    expect(parseTimeOrAgo("1h30m", now)).toBe("2026-03-01T10:30:00.000Z");
    expect(parseTimeOrAgo("250ms", now)).toBe("2026-03-01T11:59:59.750Z");
  });

  it.each(["", "5", "2026-02-28", "Sat, 28 Feb 2026 10:00:00 GMT", "5us", " 5m", "2026-02-30T25:00:00Z"])("rejects %j", (text) =>
    expect(parseTimeOrAgo(text, now)).toBeUndefined(),
  );
});
