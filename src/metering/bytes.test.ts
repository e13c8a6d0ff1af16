import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { ByteReader, ByteWriter } from "./bytes.js";

describe("ByteWriter and ByteReader", () => {
  it("encodes signed integers the same from numbers and bigints, and reads them back", () => {
    const values = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 40 + 3, -(2 ** 52)];
    for (const value of values) {
      const fromNumber = new ByteWriter();
      fromNumber.sInt(value);
      const fromBigint = new ByteWriter();
      fromBigint.s64(BigInt(value));
      expect([...fromNumber.view()]).toEqual([...fromBigint.view()]);
      const reader = new ByteReader(fromNumber.view(), 0, fromNumber.length);
      if (Math.abs(value) < 2 ** 31) expect(reader.s32()).toBe(value);
      else reader.skipSigned(64);
      expect(reader.pos).toBe(fromNumber.length);
    }
  });

  it("grows and copies short and long runs exactly", () => {
    const source = Uint8Array.from({ length: 300 }, (_, index) => index & 0xff);
    const writer = new ByteWriter(16);
    writer.copy(source, 3, 10);
    writer.copy(source, 0, 300);
    expect([...writer.toBytes()]).toEqual([...source.subarray(3, 10), ...source]);
  });

  it("never reads past its end, even when the buffer continues", () => {
    const reader = new ByteReader(Uint8Array.from([0x05, 0x06]), 0, 1);
    expect(reader.u32()).toBe(5);
    expect(() => reader.u32()).toThrow(TfaasError);
    expect(() => new ByteReader(Uint8Array.from([0x05]), 1, 1).s32()).toThrow(/unexpected end of data at offset 1/);
  });
});
