import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretCipher } from "./secret-cipher.js";

describe("SecretCipher", () => {
  const cipher = new SecretCipher(randomBytes(32));
  const plaintext = new TextEncoder().encode("hunter2");

  it("opens what it sealed, with a fresh nonce every time", () => {
    const first = cipher.seal("ns", "name", plaintext);
    const second = cipher.seal("ns", "name", plaintext);
    expect(first.nonce).toHaveLength(12);
    expect(first.nonce.equals(second.nonce)).toBe(false);
    expect(first.sealed.equals(second.sealed)).toBe(false);
    expect(first.sealed.includes(Buffer.from(plaintext))).toBe(false);
    expect(new TextDecoder().decode(cipher.open("ns", "name", first))).toBe("hunter2");
  });

  it("binds the ciphertext to its namespace and name", () => {
    const sealed = cipher.seal("a", "b-c", plaintext);
    expect(() => cipher.open("a", "b-c-", sealed)).toThrow();
    expect(() => cipher.open("a-b", "c", sealed)).toThrow();
    expect(() => cipher.open("other", "b-c", sealed)).toThrow();
  });

  it("rejects a key of the wrong length and a truncated ciphertext", () => {
    expect(() => new SecretCipher(randomBytes(16))).toThrow(/current length is 16 bytes/);
    const sealed = cipher.seal("ns", "name", plaintext);
    expect(() => cipher.open("ns", "name", { nonce: sealed.nonce, sealed: sealed.sealed.subarray(0, 8) })).toThrow();
  });
});
