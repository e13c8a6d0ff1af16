/** TFAAS_JS_PREWARM: which engines a worker starts before any deploy. */
import { describe, expect, it } from "vitest";
import { parseJsPrewarm } from "./prewarm.js";

describe("parseJsPrewarm", () => {
  it("starts both engines by default and none on `none`", () => {
    expect(parseJsPrewarm(undefined)).toEqual(["quickjs", "v8"]);
    expect(parseJsPrewarm("")).toEqual(["quickjs", "v8"]);
    expect(parseJsPrewarm("none")).toEqual([]);
  });

  it("takes a comma-separated list, once each", () => {
    expect(parseJsPrewarm("v8")).toEqual(["v8"]);
    expect(parseJsPrewarm(" quickjs , v8,quickjs")).toEqual(["quickjs", "v8"]);
  });

  it("refuses anything else with invalid-request", () => {
    for (const raw of ["wasm", "v8,", "quickjs,none", "all"]) {
      expect(() => parseJsPrewarm(raw), raw).toThrow(expect.objectContaining({ code: "invalid-request", message: expect.stringContaining("TFAAS_JS_PREWARM") }));
    }
  });
});
