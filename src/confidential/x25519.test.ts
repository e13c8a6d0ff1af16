import { createPublicKey, diffieHellman } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateX25519KeyPair, generateX25519PrivateKey, rawX25519PublicKey, x25519PublicKeyFromRaw } from "./x25519.js";

/** The raw key from the SPKI DER encoding (RFC 8410: a fixed 12-byte prefix, then the 32 bytes). */
const spkiRaw = (der: Buffer) => new Uint8Array(der.subarray(der.length - 32));

describe("X25519 keys", () => {
  it("gives a generated pair's raw public key without exporting it, equal to what OpenSSL derives", () => {
    const { privateKey, publicKey } = generateX25519KeyPair();
    const derived = spkiRaw(createPublicKey(privateKey).export({ format: "der", type: "spki" }));
    expect(rawX25519PublicKey(privateKey)).toEqual(derived);
    expect(rawX25519PublicKey(publicKey)).toEqual(derived);
    expect(spkiRaw(publicKey.export({ format: "der", type: "spki" }))).toEqual(derived);
  });

  it("hands out copies: changing one leaves the remembered key intact", () => {
    const { privateKey } = generateX25519KeyPair();
    const first = rawX25519PublicKey(privateKey);
    first.fill(0);
    expect(rawX25519PublicKey(privateKey)).not.toEqual(first);
  });

  it("generates ephemeral keys whose raw public key agrees in a key exchange", () => {
    const a = generateX25519PrivateKey();
    const b = generateX25519PrivateKey();
    const ab = diffieHellman({ privateKey: a.privateKey, publicKey: x25519PublicKeyFromRaw(b.raw) });
    const ba = diffieHellman({ privateKey: b.privateKey, publicKey: x25519PublicKeyFromRaw(a.raw) });
    expect(ab).toEqual(ba);
    expect(a.raw).not.toEqual(b.raw);
  });
});
