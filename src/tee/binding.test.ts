import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BINDING_CONTEXT, bindingReportData } from "./binding.js";

const keys = { receiptKey: Buffer.alloc(32, 1), hpkeKey: Buffer.alloc(32, 2) };
const nonce = Buffer.alloc(32, 3);

describe("bindingReportData", () => {
  it("is SHA-512 over the documented canonical encoding: 64 bytes", () => {
    const expected = createHash("sha512")
      .update(Buffer.concat([Buffer.from(BINDING_CONTEXT), Buffer.of(0), keys.receiptKey, keys.hpkeKey, Buffer.of(0, 32), nonce]))
      .digest();
    const bound = bindingReportData(keys, nonce);
    expect(bound.length).toBe(64);
    expect(Buffer.from(bound)).toEqual(expected);
  });

  it("changes with either key or the nonce, and does not confuse the two keys", () => {
    const base = Buffer.from(bindingReportData(keys, nonce)).toString("hex");
    const variants = [
      bindingReportData({ ...keys, receiptKey: Buffer.alloc(32, 9) }, nonce),
      bindingReportData({ ...keys, hpkeKey: Buffer.alloc(32, 9) }, nonce),
      bindingReportData({ receiptKey: keys.hpkeKey, hpkeKey: keys.receiptKey }, nonce),
      bindingReportData(keys, Buffer.alloc(33, 3)),
    ].map((bytes) => Buffer.from(bytes).toString("hex"));
    expect(new Set([base, ...variants]).size).toBe(5);
  });

  it("rejects keys that are not 32 bytes and nonces outside 16–64 bytes", () => {
    expect(() => bindingReportData({ ...keys, receiptKey: Buffer.alloc(31) }, nonce)).toThrow("current receipt key length is 31, expected 32");
    expect(() => bindingReportData({ ...keys, hpkeKey: Buffer.alloc(33) }, nonce)).toThrow("current HPKE key length is 33");
    expect(() => bindingReportData(keys, Buffer.alloc(15))).toThrow("current nonce length is 15");
    expect(() => bindingReportData(keys, Buffer.alloc(65))).toThrow("current nonce length is 65");
  });
});
