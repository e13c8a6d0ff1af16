/** Cross-checks our node:crypto HPKE against an independent implementation, @hpke/core (WebCrypto), both ways. */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { describe, expect, it } from "vitest";
import { setupBaseRecipient, setupBaseSender } from "./hpke.js";
import { generateX25519KeyPair, rawX25519PublicKey } from "./x25519.js";

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
const info = new TextEncoder().encode("tfaas interop");
const aad = new TextEncoder().encode("aad");
const plaintext = new Uint8Array(Buffer.from("interoperable plaintext, 1 KiB".padEnd(1024, ".")));

describe("HPKE interoperates with @hpke/core", () => {
  it("opens what @hpke/core seals to our key", async () => {
    const recipient = generateX25519KeyPair();
    const publicKey = await suite.kem.deserializePublicKey(rawX25519PublicKey(recipient.publicKey));
    const { ct, enc } = await suite.seal({ recipientPublicKey: publicKey, info }, plaintext, aad);
    const opened = setupBaseRecipient(new Uint8Array(enc), recipient.privateKey, info).open(aad, new Uint8Array(ct));
    expect(opened).toEqual(plaintext);
  });

  it("seals what @hpke/core opens, exports the same secrets, and fails on a changed AAD", async () => {
    const recipient = await suite.kem.generateKeyPair();
    const rawPublic = new Uint8Array(await suite.kem.serializePublicKey(recipient.publicKey));
    const { enc, context } = setupBaseSender(rawPublic, info);
    const sealed = context.seal(aad, plaintext);
    const receiver = await suite.createRecipientContext({ recipientKey: recipient, enc, info });
    expect(new Uint8Array(await receiver.open(sealed, aad))).toEqual(plaintext);
    // One HKDF block (the fast path every call takes), less than one, and several (the general expand).
    for (const length of [32, 12, 1, 33, 100]) {
      expect(new Uint8Array(await receiver.export(new TextEncoder().encode("ctx"), length))).toEqual(context.export(new TextEncoder().encode("ctx"), length));
    }
    const again = setupBaseSender(rawPublic, info);
    const other = await suite.createRecipientContext({ recipientKey: recipient, enc: again.enc, info });
    await expect(other.open(again.context.seal(aad, plaintext), new TextEncoder().encode("other"))).rejects.toThrow();
  });
});
