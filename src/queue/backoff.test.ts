import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "./backoff.js";

describe("backoffDelayMs", () => {
  const policy = { baseMs: 100, maxMs: 1000 };

  it("doubles per attempt up to the cap", () => {
    const ceilings = [1, 2, 3, 4, 5, 10].map((attempt) => backoffDelayMs(attempt, policy, () => 1));
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("waits at least half of the ceiling", () => {
    expect(backoffDelayMs(3, policy, () => 0)).toBe(200);
    expect(backoffDelayMs(30, policy, () => 0)).toBe(500);
  });
});
