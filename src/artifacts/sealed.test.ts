import { describe, expect, it } from "vitest";
import { sealArtifact } from "../confidential/index.js";
import { decodeSealedUpload, encodeSealedUpload, isSealedUpload } from "./sealed.js";

const sealed = sealArtifact(new TextEncoder().encode("code"));

describe("sealed uploads", () => {
  it("round-trips kind, plaintext digest and ciphertext", () => {
    const envelope = encodeSealedUpload({ kind: "javascript", digest: sealed.digest, ciphertext: sealed.ciphertext });
    expect(isSealedUpload(envelope)).toBe(true);
    const decoded = decodeSealedUpload(envelope);
    expect(decoded.kind).toBe("javascript");
    expect(decoded.digest).toBe(sealed.digest);
    expect(Buffer.from(decoded.ciphertext).equals(Buffer.from(sealed.ciphertext))).toBe(true);
  });

  it("refuses plain code, truncation, an unknown version or kind, a malformed digest and a ciphertext that is not sealed", () => {
    const envelope = encodeSealedUpload({ kind: "wasm", digest: sealed.digest, ciphertext: sealed.ciphertext });
    const altered = (at: number, value: number) => Object.assign(new Uint8Array(envelope), { [at]: value });
    expect(() => decodeSealedUpload(new TextEncoder().encode("\0asm"))).toThrow(/TFSE magic/);
    expect(() => decodeSealedUpload(envelope.slice(0, 90))).toThrow(/truncated/);
    expect(() => decodeSealedUpload(altered(4, 2))).toThrow(/version is 2/);
    expect(() => decodeSealedUpload(altered(5, 9))).toThrow(/kind byte is 9/);
    expect(() => decodeSealedUpload(altered(10, 0x47))).toThrow(/plaintext digest/);
    expect(() => decodeSealedUpload(altered(77, 0))).toThrow(/TFSA magic/);
    expect(() => encodeSealedUpload({ kind: "wasm", digest: "sha256:xyz", ciphertext: sealed.ciphertext })).toThrow(/digest/);
  });
});
