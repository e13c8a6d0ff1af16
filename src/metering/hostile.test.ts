import { describe, expect, it } from "vitest";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { TfaasError } from "../shared/errors.js";
import { ByteWriter } from "./bytes.js";
import { instrument } from "./index.js";

/** The error `instrument` throws, which must be an invalid-artifact TfaasError. */
function rejection(bytes: Uint8Array): TfaasError {
  try {
    instrument(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    expect((error as TfaasError).code).toBe("invalid-artifact");
    return error as TfaasError;
  }
  throw new Error("expected instrument to reject the module");
}

/** A module from raw sections: [id, payload bytes]. */
function moduleOf(...sections: Array<[number, number[] | Uint8Array]>): Uint8Array {
  const out = new ByteWriter();
  out.bytes(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  for (const [id, payload] of sections) {
    out.byte(id);
    out.u32(payload.length);
    out.bytes(Uint8Array.from(payload));
  }
  return out.toBytes();
}

/** type () -> (), one function, and the given body (locals + code). */
function withBody(body: number[]): Uint8Array {
  return moduleOf([1, [1, 0x60, 0, 0]], [3, [1, 0]], [10, [1, ...leb(body.length), ...body]]);
}

function leb(value: number): number[] {
  const writer = new ByteWriter();
  writer.u32(value);
  return [...writer.view()];
}

const sample = wat(`(module
  (memory 1) (table 1 funcref)
  (global $g (mut i32) (i32.const 0))
  (func $f (export "f") (param i32) (result i32)
    (block (loop (br_if 1 (i32.eqz (local.get 0))) (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)))
    (i32.load (i32.const 0)))
  (elem (i32.const 0) $f)
  (data (i32.const 0) "xyz"))`);

describe("malformed and hostile modules", () => {
  it("rejects every truncation of a valid module as invalid-artifact (or instruments a whole-section prefix)", () => {
    for (let length = 0; length < sample.length; length++) {
      try {
        const { bytes } = instrument(sample.subarray(0, length));
        expect(bytes.length).toBeGreaterThan(0);
      } catch (error) {
        expect(error).toBeInstanceOf(TfaasError);
        expect((error as TfaasError).code).toBe("invalid-artifact");
      }
    }
  });

  it("answers every single-byte corruption with either an output or invalid-artifact, never another failure", () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 2000; round++) {
      const corrupt = Uint8Array.from(sample);
      corrupt[8 + Math.floor(random() * (corrupt.length - 8))] = Math.floor(random() * 256);
      try {
        instrument(corrupt);
      } catch (error) {
        expect(error).toBeInstanceOf(TfaasError);
      }
    }
  });

  it("rejects bogus LEB128 integers with their offset", () => {
    // Function count encoded in 6 bytes, then one whose fifth byte overflows 32 bits.
    expect(rejection(moduleOf([3, [0x80, 0x80, 0x80, 0x80, 0x80, 0x00]])).message).toMatch(/longer than 5 bytes at offset 10/);
    expect(rejection(moduleOf([3, [0xff, 0xff, 0xff, 0xff, 0x7f]])).message).toMatch(/exceeds 32 bits at offset 10/);
    // i32.const whose fifth byte has bits beyond the sign; i64.const 11 bytes long.
    expect(rejection(withBody([0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x1a, 0x0b])).message).toMatch(/exceeds 32 bits/);
    expect(rejection(withBody([0, 0x42, ...new Array(10).fill(0x80), 0x00, 0x1a, 0x0b])).message).toMatch(/longer than 10 bytes/);
  });

  it("rejects counts that cannot fit in the bytes that remain", () => {
    expect(rejection(moduleOf([1, [0xff, 0xff, 0xff, 0xff, 0x0f]])).message).toMatch(/type count 4294967295 exceeds the 0 bytes that remain/);
    expect(rejection(withBody([0, 0x0e, 0xff, 0xff, 0xff, 0x0f, 0x0b])).message).toMatch(/branch table count/);
    expect(rejection(withBody([1, 0xff, 0xff, 0x03, 0x7f, 0x0b])).message).toMatch(/more than \d+ parameters and locals/);
  });

  it("accepts as many locals as the engines do once its own are added, and no more", () => {
    // The instrumenter adds up to three (fuel, trip count, length); this body, a counted loop, gets two.
    const loop = [0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0x0a, 0x49, 0x0d, 0x00, 0x0b];
    const body = (locals: number) => [1, ...leb(locals), 0x7f, ...loop, 0x0b];
    const { bytes } = instrument(withBody(body(49_997)));
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(rejection(withBody(body(49_998))).message).toMatch(/more than 49997 parameters and locals/);
  });

  it("rejects structural nonsense in bodies", () => {
    expect(rejection(withBody([0, 0x02, 0x40, 0x0b])).message).toMatch(/ends before its final end/);
    expect(rejection(withBody([0, 0x0b, 0x01])).message).toMatch(/1 bytes after its final end/);
    expect(rejection(withBody([0, 0x0c, 0x05, 0x0b])).message).toMatch(/branch depth 5 exceeds the nesting depth 1/);
    expect(rejection(withBody([0, 0x05, 0x0b])).message).toMatch(/else outside an if/);
    expect(rejection(moduleOf([1, [1, 0x60, 0, 0]], [3, [1, 0]])).message).toMatch(/1 functions declared but 0 bodies found/);
    expect(rejection(moduleOf([3, [0]], [1, [0]])).message).toMatch(/duplicated or out of order/);
    expect(rejection(moduleOf([14, []])).message).toMatch(/unknown section id 14/);
  });

  it("rejects what is not WebAssembly 2.0, naming the feature and the offset", () => {
    const cases: Array<[string, Record<string, boolean>, RegExp]> = [
      [`(module (memory 1 1 shared) (func (drop (i32.atomic.load (i32.const 0)))))`, { threads: true }, /shared memory \(threads/],
      [`(module (func (drop (i32.atomic.load (i32.const 0)))) (memory 1))`, { threads: true }, /opcode 0xfe \(threads \(atomics\)/],
      [`(module (tag $e) (func (throw $e)))`, { exceptions: true }, /tag section \(exception handling/],
      [`(module (func $f (return_call $f)))`, { tail_call: true }, /opcode 0x12 \(tail calls/],
      [`(module (memory i64 1))`, { memory64: true }, /64-bit memory \(memory64/],
      [`(module (func (drop (f32x4.relaxed_madd (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0)))))`, { relaxed_simd: true }, /0xfd 261 \(not WebAssembly 2.0 SIMD\)/],
    ];
    for (const [text, features, message] of cases) {
      const error = rejection(wat(text, features));
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/at offset \d+$/);
    }
    // Two memories (multi-memory), built by hand: a memory section with two entries.
    expect(rejection(moduleOf([5, [2, 0, 1, 0, 1]])).message).toMatch(/second memory \(multi-memory/);
    expect(rejection(withBody([0, 0x06, 0x40, 0x0b, 0x0b])).message).toMatch(/opcode 0x6 \(exception handling/);
    expect(rejection(withBody([0, 0xd5, 0x0b])).message).toMatch(/opcode 0xd5 \(typed function references/);
    expect(rejection(withBody([0, 0x27, 0x0b])).message).toMatch(/opcode 0x27 \(unknown opcode/);
  });

  it("rejects invalid indices that would otherwise name the metering locals and globals", () => {
    // local.get 0 / local.set 0 in a function without locals: index 0 would be our fuel local.
    expect(rejection(withBody([0, 0x20, 0x00, 0x1a, 0x0b])).message).toMatch(/local index 0 \(only 0\)/);
    expect(rejection(withBody([0, 0x42, 0x00, 0x21, 0x00, 0x0b])).message).toMatch(/local index 0 \(only 0\)/);
    // global.set 0 without globals: index 0 would be __tfaas_fuel.
    expect(rejection(withBody([0, 0x42, 0x00, 0x24, 0x00, 0x0b])).message).toMatch(/global index 0 \(only 0\)/);
    // The same inside a loop the counted-loop matcher looks at.
    const loop = [0x03, 0x40, 0x42, 0x00, 0x21, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0x0a, 0x47, 0x0d, 0x00, 0x0b];
    expect(rejection(withBody([0, ...loop, 0x0b])).message).toMatch(/local index 0 \(only 0\)/);
    // Exporting global 0 of a module without globals would export the fuel counter.
    expect(rejection(moduleOf([7, [1, 1, 0x61, 0x03, 0x00]])).message).toMatch(/exported global index 0 \(only 0\)/);
  });

  it("rejects element segments and constant expressions outside WebAssembly 2.0 with their offsets", () => {
    // Read to find the functions reachable from outside (which keep their signatures).
    const elements = (segment: number[]) => moduleOf([1, [1, 0x60, 0, 0]], [3, [1, 0]], [4, [1, 0x70, 0, 1]], [9, [1, ...segment]], [10, [1, 2, 0, 0x0b]]);
    expect(rejection(elements([8, 0x41, 0, 0x0b, 1, 0])).message).toMatch(/element segment flags 8/);
    // i32.add in an offset: extended constant expressions are not WebAssembly 2.0.
    expect(rejection(elements([0, 0x41, 0, 0x41, 0, 0x6a, 0x0b, 1, 0])).message).toMatch(/constant expression with opcode 0x6a \(not WebAssembly 2.0\) at offset \d+/);
    // A count larger than the bytes that remain.
    expect(rejection(elements([1, 0, 100])).message).toMatch(/element/);
    // The same in a global's initialiser.
    const global = moduleOf([6, [1, 0x7f, 0, 0x41, 0, 0x41, 0, 0x6a, 0x0b]]);
    expect(rejection(global).message).toMatch(/constant expression with opcode 0x6a/);
    // Valid forms (passive with expressions, declarative) are read, and their functions stay classic.
    const { report } = instrument(wat(`(module (func $a) (func $b) (func $c (call $a) (call $b))
      (elem funcref (ref.func $a)) (elem declare func $b) (export "c" (func $c)))`));
    expect(report.internalFunctions).toBe(0);
  });

  it("handles deep nesting without recursion", () => {
    const depth = 100_000;
    const body = [0, ...new Array(depth).fill([0x02, 0x40]).flat(), ...new Array(depth).fill(0x0b), 0x0b];
    const { bytes, report } = instrument(withBody(body));
    expect(report.functions).toBe(1);
    expect(bytes.length).toBeGreaterThan(body.length);
  });

  it("instruments tens of thousands of functions", () => {
    const count = 30_000;
    const bodies: number[] = [];
    for (let index = 0; index < count; index++) bodies.push(5, 0, 0x41, index % 64, 0x1a, 0x0b);
    const module = moduleOf([1, [1, 0x60, 0, 0]], [3, [...leb(count), ...new Array(count).fill(0)]], [10, [...leb(count), ...bodies]]);
    const { bytes, report } = instrument(module);
    expect(report.functions).toBe(count);
    expect(report.checks).toBe(count);
    expect(new WebAssembly.Module(bytes)).toBeInstanceOf(WebAssembly.Module);
  });
});
