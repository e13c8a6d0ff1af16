import { describe, expect, it } from "vitest";
import { parseDurationMs, parseQuantityBytes } from "./units.js";

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
