import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { decap, encap, keySchedule, setupBaseRecipient, setupBaseSender } from "./hpke.js";
import { RFC9180_A11 as V } from "./rfc9180-vectors.fixture.js";
import { bytesToHex } from "./wire.js";
import { generateX25519KeyPair, rawX25519PublicKey, x25519PrivateKeyFromRaw } from "./x25519.js";

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));

describe("HPKE against RFC 9180 Appendix A.1.1 (X25519, HKDF-SHA256, AES-128-GCM, base)", () => {
  const recipient = x25519PrivateKeyFromRaw(hex(V.skRm));

  it("derives the published public keys from the published private keys", () => {
    expect(bytesToHex(rawX25519PublicKey(recipient))).toBe(V.pkRm);
    expect(bytesToHex(rawX25519PublicKey(x25519PrivateKeyFromRaw(hex(V.skEm))))).toBe(V.pkEm);
  });

  it("encapsulates and decapsulates to the published shared secret", () => {
    const { sharedSecret, enc } = encap(hex(V.pkRm), hex(V.skEm));
    expect(bytesToHex(enc)).toBe(V.enc);
    expect(bytesToHex(sharedSecret)).toBe(V.sharedSecret);
    expect(bytesToHex(decap(hex(V.enc), recipient, hex(V.pkRm)))).toBe(V.sharedSecret);
  });

  it("runs the key schedule to the published key, base nonce and exporter secret", () => {
    const schedule = keySchedule(hex(V.sharedSecret), hex(V.info));
    expect(bytesToHex(schedule.key)).toBe(V.key);
    expect(bytesToHex(schedule.baseNonce)).toBe(V.baseNonce);
    expect(bytesToHex(schedule.exporterSecret)).toBe(V.exporterSecret);
  });

  it("seals the published ciphertexts at sequence numbers 0, 1, 2 and 255, and opens them", () => {
    const { enc, context: sender } = setupBaseSender(hex(V.pkRm), hex(V.info), { ephemeralPrivateKey: hex(V.skEm) });
    const receiver = setupBaseRecipient(enc, recipient, hex(V.info));
    let seq = 0;
    for (const vector of V.encryptions) {
      // Filler messages advance both sides, so each vector is checked at its own sequence number.
      for (; seq < vector.seq; seq++) expect(receiver.open(new Uint8Array(0), sender.seal(new Uint8Array(0), new Uint8Array(0)))).toEqual(new Uint8Array(0));
      const sealed = sender.seal(hex(vector.aad), hex(V.plaintext));
      expect(bytesToHex(sealed)).toBe(vector.ct);
      expect(bytesToHex(receiver.open(hex(vector.aad), hex(vector.ct)) ?? new Uint8Array(0))).toBe(V.plaintext);
      seq++;
    }
  });

  it("exports the published secrets", () => {
    const receiver = setupBaseRecipient(hex(V.enc), recipient, hex(V.info));
    for (const { context, value } of V.exports) expect(bytesToHex(receiver.export(hex(context), 32))).toBe(value);
  });

  it("refuses to open with the wrong AAD, a flipped bit or another recipient key, and does not advance", () => {
    const { enc, context: sender } = setupBaseSender(hex(V.pkRm), hex(V.info));
    const sealed = sender.seal(hex("aa"), hex(V.plaintext));
    const receiver = setupBaseRecipient(enc, recipient, hex(V.info));
    expect(receiver.open(hex("ab"), sealed)).toBeUndefined();
    const flipped = Uint8Array.from(sealed);
    flipped[3]! ^= 1;
    expect(receiver.open(hex("aa"), flipped)).toBeUndefined();
    expect(receiver.open(hex("aa"), sealed.subarray(0, sealed.length - 1))).toBeUndefined();
    expect(setupBaseRecipient(enc, generateX25519KeyPair().privateKey, hex(V.info)).open(hex("aa"), sealed)).toBeUndefined();
    expect(bytesToHex(receiver.open(hex("aa"), sealed) ?? new Uint8Array(0))).toBe(V.plaintext);
  });

  it("rejects a small-order encapsulated key (all-zero exchange result, RFC 9180 §7.1.4)", () => {
    expect(() => setupBaseRecipient(new Uint8Array(32), recipient, hex(V.info))).toThrow(TfaasError);
    expect(() => setupBaseRecipient(new Uint8Array(32), recipient, hex(V.info))).toThrow(/small order/);
  });
});
