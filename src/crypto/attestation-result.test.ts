import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { toBase64Url } from "./bytes.js";
import { issueAttestationResult, rawPublicKey, verifyAttestationResult, type AttestationResultClaims } from "./index.js";

const verifier = generateKeyPairSync("ed25519");
const impostor = generateKeyPairSync("ed25519");
const worker = generateKeyPairSync("ed25519");
const hpke = generateKeyPairSync("x25519");

const claims: AttestationResultClaims = {
  workerId: "worker-1",
  teeType: "sim",
  measurement: "ab".repeat(48),
  boundKeys: { receipt: toBase64Url(rawPublicKey(worker.publicKey)), hpke: hpke.publicKey.export({ format: "jwk" }).x! },
  policyHash: `sha256:${"cd".repeat(32)}`,
};
const T0 = new Date("2026-03-01T12:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

async function rejection(promise: Promise<unknown>): Promise<TfaasError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TfaasError);
  expect((error as TfaasError).code).toBe("unauthorized");
  return error as TfaasError;
}

/** Replaces one part of a compact JWS with a re-encoded, modified JSON object. */
function rewrite(token: string, part: 0 | 1, change: (value: Record<string, unknown>) => void): string {
  const parts = token.split(".");
  const value = JSON.parse(Buffer.from(parts[part]!, "base64url").toString()) as Record<string, unknown>;
  change(value);
  parts[part] = Buffer.from(JSON.stringify(value)).toString("base64url");
  return parts.join(".");
}

describe("attestation results", () => {
  it("issues a short-lived EdDSA JWT whose claims verify back", async () => {
    const token = await issueAttestationResult(claims, verifier.privateKey, 300, { now: T0 });
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString());
    expect(header).toMatchObject({ alg: "EdDSA", typ: "tfaas-ar+jwt" });
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(payload).toMatchObject({ iss: "tfaas-verifier", sub: "worker-1", iat: T0.getTime() / 1000, nbf: T0.getTime() / 1000, exp: T0.getTime() / 1000 + 300, tee_type: "sim" });
    const verified = await verifyAttestationResult(token, rawPublicKey(verifier.publicKey), { now: at(299) });
    expect(verified).toEqual({ ...claims, issuer: "tfaas-verifier", issuedAt: T0, notBefore: T0, expiresAt: at(300) });
  });

  it("rejects an expired token, and one not yet valid, each with its reason", async () => {
    const token = await issueAttestationResult(claims, verifier.privateKey, 300, { now: T0 });
    expect((await rejection(verifyAttestationResult(token, verifier.publicKey, { now: at(300) }))).message).toBe(
      "Cannot accept attestation result: token expired at 2026-03-01T12:05:00.000Z; current time is 2026-03-01T12:05:00.000Z",
    );
    expect((await rejection(verifyAttestationResult(token, verifier.publicKey, { now: at(-1) }))).message).toMatch(/token is not valid before 2026-03-01T12:00:00.000Z/);
  });

  it("tells a token signed by another key from an altered one", async () => {
    const token = await issueAttestationResult(claims, verifier.privateKey, 300, { now: T0 });
    const foreign = await issueAttestationResult(claims, impostor.privateKey, 300, { now: T0 });
    expect((await rejection(verifyAttestationResult(foreign, verifier.publicKey, { now: T0 }))).message).toMatch(/token was signed by a different key \(key id \S+, expected \S+\)/);
    const altered = rewrite(token, 1, (payload) => (payload["measurement"] = "00".repeat(48)));
    expect((await rejection(verifyAttestationResult(altered, verifier.publicKey, { now: T0 }))).message).toMatch(/signature does not verify: its header or claims were altered/);
    const extended = rewrite(token, 1, (payload) => (payload["exp"] = (payload["exp"] as number) + 86_400));
    expect((await rejection(verifyAttestationResult(extended, verifier.publicKey, { now: at(400) }))).message).toMatch(/altered/);
    const relabelled = rewrite(foreign, 0, (header) => (header["kid"] = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid));
    expect((await rejection(verifyAttestationResult(relabelled, verifier.publicKey, { now: T0 }))).message).toMatch(/altered/);
  });

  it("rejects malformed tokens, other types, algorithms and issuers", async () => {
    const token = await issueAttestationResult(claims, verifier.privateKey, 300, { now: T0, issuer: "verifier.example" });
    expect((await rejection(verifyAttestationResult("not-a-token", verifier.publicKey))).message).toMatch(/not a well-formed JWS/);
    expect((await rejection(verifyAttestationResult(rewrite(token, 0, (h) => (h["typ"] = "JWT")), verifier.publicKey, { now: T0 }))).message).toMatch(/token type must be tfaas-ar\+jwt, current value is JWT/);
    expect((await rejection(verifyAttestationResult(rewrite(token, 0, (h) => (h["alg"] = "none")), verifier.publicKey, { now: T0 }))).message).toMatch(/algorithm must be EdDSA, current value is none/);
    expect((await rejection(verifyAttestationResult(token, verifier.publicKey, { now: T0, issuer: "tfaas-verifier" }))).message).toMatch(/issuer is not tfaas-verifier/);
    expect((await verifyAttestationResult(token, verifier.publicKey, { now: T0, issuer: "verifier.example" })).issuer).toBe("verifier.example");
  });

  it("refuses to issue long-lived tokens, malformed claims or with a non-Ed25519 key", async () => {
    await expect(issueAttestationResult(claims, verifier.privateKey, 86_401)).rejects.toThrow(/ttlSeconds must be 1 to 86400, current value is 86401/);
    await expect(issueAttestationResult(claims, verifier.privateKey, 0)).rejects.toThrow(/ttlSeconds/);
    await expect(issueAttestationResult({ ...claims, measurement: "XYZ" }, verifier.privateKey, 60)).rejects.toThrow(/measurement must be lowercase hex/);
    await expect(issueAttestationResult({ ...claims, boundKeys: { receipt: "short" } }, verifier.privateKey, 60)).rejects.toThrow(/boundKeys.receipt must be a 32-byte raw public key/);
    await expect(issueAttestationResult({ ...claims, policyHash: "sha1:00" }, verifier.privateKey, 60)).rejects.toThrow(/policyHash must be sha256/);
    await expect(issueAttestationResult(claims, verifier.publicKey, 60)).rejects.toThrow(/expected an Ed25519 private key/);
  });
});
