import { describe, expect, it } from "vitest";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { TfaasError } from "../shared/errors.js";
import { encodeVarUint32, readSections, readVarUint32, replaceSectionPayload, SectionId } from "./sections.js";

describe("LEB128 u32", () => {
  it.each([
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [624485, [0xe5, 0x8e, 0x26]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
    [0xffff_ffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])("encodes and decodes %i", (value, encoded) => {
    expect([...encodeVarUint32(value)]).toEqual(encoded);
    expect(readVarUint32(Uint8Array.from([0xaa, ...encoded, 0xbb]), 1)).toEqual({ value, next: 1 + encoded.length });
  });

  it("accepts padded (non-canonical) encodings", () => {
    expect(readVarUint32(Uint8Array.from([0x81, 0x80, 0x80, 0x00]), 0)).toEqual({ value: 1, next: 4 });
  });

  it("rejects integers that are truncated, too long or wider than 32 bits", () => {
    expect(() => readVarUint32(Uint8Array.from([0x80, 0x80]), 0)).toThrow(/runs past the end/);
    expect(() => readVarUint32(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), 0)).toThrow(/exceeds 32 bits/);
    expect(() => readVarUint32(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x1f]), 0)).toThrow(/exceeds 32 bits/);
  });

  it("refuses to encode what is not a u32", () => {
    for (const value of [-1, 2 ** 32, 1.5]) expect(() => encodeVarUint32(value)).toThrow(RangeError);
  });
});

const sample = wat(`(module
  (memory (export "memory") 1 4)
  (global $g (mut i32) (i32.const 7))
  (func (export "_start") (global.set $g (i32.const 8)))
  (data (i32.const 0) "hello"))`);

describe("readSections", () => {
  it("lists sections in file order with exact bounds", () => {
    const sections = readSections(sample);
    expect(sections.map((section) => section.id)).toEqual([
      SectionId.type,
      SectionId.function,
      SectionId.memory,
      SectionId.global,
      SectionId.export,
      SectionId.code,
      SectionId.data,
    ]);
    expect(sections[0]?.start).toBe(8);
    for (const [index, section] of sections.entries()) {
      expect(section.end).toBe(section.payloadOffset + section.payloadSize);
      expect(sections[index + 1]?.start ?? sample.length).toBe(section.end);
    }
    const memory = sections.find((section) => section.id === SectionId.memory);
    // one memory, flags 1 (has maximum), min 1, max 4
    expect([...sample.subarray(memory?.payloadOffset, memory?.end)]).toEqual([1, 1, 1, 4]);
  });

  it("rejects a wrong header and a section running past the end, as invalid-artifact", () => {
    const errors = [Uint8Array.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), sample.subarray(0, sample.length - 1)].map((bytes) => {
      try {
        readSections(bytes);
      } catch (error) {
        return error;
      }
      return undefined;
    });
    expect(errors[0]).toBeInstanceOf(TfaasError);
    expect((errors[0] as TfaasError).code).toBe("invalid-artifact");
    expect((errors[1] as TfaasError).message).toMatch(/section 11 at offset \d+ claims \d+ bytes but only \d+ remain/);
  });

  it("accepts a module with no sections", () => {
    expect(readSections(wat("(module)"))).toEqual([]);
  });
});

describe("replaceSectionPayload", () => {
  it("changes only the chosen section and keeps every other byte", () => {
    const sections = readSections(sample);
    const memory = sections.find((section) => section.id === SectionId.memory);
    if (memory === undefined) throw new Error("fixture has no memory section");
    const replaced = replaceSectionPayload(sample, memory, Uint8Array.from([1, 1, 1, 2]));
    expect(replaced.length).toBe(sample.length);
    expect([...replaced.subarray(0, memory.payloadOffset)]).toEqual([...sample.subarray(0, memory.payloadOffset)]);
    expect([...replaced.subarray(memory.end)]).toEqual([...sample.subarray(memory.end)]);
    expect(replaced[memory.end - 1]).toBe(2);
    expect(new WebAssembly.Module(replaced as Uint8Array<ArrayBuffer>)).toBeInstanceOf(WebAssembly.Module);
  });

  it("re-encodes the size when the payload grows past one LEB byte", () => {
    const sections = readSections(sample);
    const custom = { id: SectionId.custom, start: sample.length, payloadOffset: sample.length, payloadSize: 0, end: sample.length };
    const payload = new Uint8Array(200);
    payload.set([4, ...new TextEncoder().encode("note")]);
    const appended = replaceSectionPayload(sample, custom, payload);
    const after = readSections(appended);
    expect(after.length).toBe(sections.length + 1);
    expect(after.at(-1)).toMatchObject({ id: SectionId.custom, payloadSize: 200, end: appended.length });
    expect(appended.length).toBe(sample.length + 1 + 2 + 200);
    const module = new WebAssembly.Module(appended as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.customSections(module, "note").length).toBe(1);
  });
});
