/**
 * The guest must not be able to name the metering counters. The instrumenter appends its
 * globals after the module's own and its counter local after the function's own, so an
 * *invalid* module that uses one index too many would become valid after instrumentation and
 * reach the counters. Such a module must be rejected, by the instrumenter or by the engine.
 * (Found by the spec runner: exports.wast:96/100/104, local_get.wast:210/219,
 * unreached-invalid.wast:4/8.)
 */
import wabtInit from "wabt";
import { describe, expect, it } from "vitest";
import { instrument } from "../../src/metering/index.js";

/** Assembles without validating, so the invalid index reaches the binary. */
async function assemble(wat: string): Promise<Uint8Array<ArrayBuffer>> {
  const parsed = (await wabtInit()).parseWat("guest.wat", wat);
  try {
    return Uint8Array.from(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** True when the instrumented module can be compiled, i.e. the guest's reference was accepted. */
function acceptedAfterInstrumenting(bytes: Uint8Array, optimize: boolean): boolean {
  let output: Uint8Array<ArrayBuffer>;
  try {
    output = instrument(bytes, { optimize }).bytes;
  } catch {
    return false;
  }
  try {
    new WebAssembly.Module(output);
    return true;
  } catch {
    return false;
  }
}

const cases = {
  "resets the fuel global it was never given": `(module
    (func (export "run") (loop $spin (global.set 0 (i64.const 0)) (br $spin))))`,
  "exports a global index one past its own": `(module (global i32 (i32.const 0)) (export "fuel" (global 1)))`,
  "reads a local index one past its own": `(module (func (export "run") (param i32) (result i64) (local.get 1)))`,
} as const;

describe("a guest cannot name the metering counters", () => {
  for (const [name, wat] of Object.entries(cases)) {
    it(`rejects a module that ${name}`, async () => {
      const bytes = await assemble(wat);
      expect(() => new WebAssembly.Module(bytes)).toThrow(WebAssembly.CompileError);
      expect({ optimize: true, accepted: acceptedAfterInstrumenting(bytes, true) }).toEqual({ optimize: true, accepted: false });
      expect({ optimize: false, accepted: acceptedAfterInstrumenting(bytes, false) }).toEqual({ optimize: false, accepted: false });
    });
  }
});
