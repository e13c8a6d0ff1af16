import { describe, expect, it } from "vitest";
import { sinceToTimestamp } from "./since.js";

describe("sinceToTimestamp", () => {
  const now = new Date("2026-03-01T12:00:00.000Z");

  it("turns Go-style durations into the time that long before now", () => {
    expect(sinceToTimestamp("5m", now)).toBe("2026-03-01T11:55:00.000Z");
    expect(sinceToTimestamp("1h30m", now)).toBe("2026-03-01T10:30:00.000Z");
    expect(sinceToTimestamp("1.5s", now)).toBe("2026-03-01T11:59:58.500Z");
    expect(sinceToTimestamp("250ms", now)).toBe("2026-03-01T11:59:59.750Z");
  });

  it("passes RFC 3339 times through, normalised to UTC", () => {
    expect(sinceToTimestamp("2026-02-28T10:00:00Z", now)).toBe("2026-02-28T10:00:00.000Z");
    expect(sinceToTimestamp("2026-02-28T10:00:00+02:00", now)).toBe("2026-02-28T08:00:00.000Z");
  });

  it("rejects anything else, naming the flag", () => {
    for (const value of ["5", "5x", "yesterday", "2026-02-28", "m5"]) {
      expect(() => sinceToTimestamp(value, now)).toThrow(`Cannot read --since: current value is ${JSON.stringify(value)}`);
    }
  });
});
