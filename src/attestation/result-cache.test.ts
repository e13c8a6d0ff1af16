import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { issueAttestationResult } from "../crypto/index.js";
import { AttestationCache } from "./result-cache.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const claims = (workerId: string) => ({ workerId, teeType: "sim", measurement: "ab", boundKeys: { receipt: Buffer.alloc(32, 1).toString("base64url") }, policyHash: `sha256:${"cd".repeat(32)}` });

describe("AttestationCache", () => {
  it("keeps a private verifier key and returns only results it signed, current or (on request) past", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "tfaas-cache-"));
    const cache = new AttestationCache(path.join(dir, "attestation"));
    const key = await cache.verifierKey();
    expect(statSync(path.join(dir, "attestation", "verifier.key")).mode & 0o777).toBe(0o600);
    const current = await issueAttestationResult(claims("w-current"), key, 600);
    const expired = await issueAttestationResult(claims("w-old"), key, 60, { now: new Date(Date.now() - 3_600_000) });
    const foreign = await issueAttestationResult(claims("w-foreign"), (await import("node:crypto")).generateKeyPairSync("ed25519").privateKey, 600);
    const parts = current.split(".");
    const altered = [parts[0], Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(parts[1]!, "base64url").toString()), sub: "w-forged" })).toString("base64url"), parts[2]].join(".");
    await cache.save("http://gw", [current, expired, foreign, altered]);
    expect(statSync(path.join(dir, "attestation", "results.json")).mode & 0o777).toBe(0o600);
    expect((await cache.results("http://gw", "now")).map((r) => r.workerId)).toEqual(["w-current"]);
    expect((await cache.results("http://gw", "issued")).map((r) => [r.workerId, r.current])).toEqual([["w-current", true], ["w-old", false]]);
    expect(await cache.results("http://other", "now")).toEqual([]);
  });
});
