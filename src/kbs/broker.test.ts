import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSealedUpload } from "../artifacts/index.js";
import { createWorkerIdentity, type WorkerIdentity } from "../attestation/index.js";
import { sealArtifact } from "../confidential/index.js";
import { TfaasError } from "../shared/errors.js";
import { parseSimEvidence, type PolicyInput } from "../tee/index.js";
import { KEY_RELEASE_PATHS, keyRequestBody, openSealedCode } from "../worker/key-release.js";
import { KeyBroker, KeyStore, serveKeyBroker, type KeyBrokerDecision, type KeyBrokerServer } from "./index.js";

const code = new TextEncoder().encode("(module) pretend code: KBS-UNIT-MARKER");
let dir: string;
let identity: WorkerIdentity;
let debugIdentity: WorkerIdentity;
let measurement: string;
let platformKey: Uint8Array;
let server: KeyBrokerServer;
const decisions: KeyBrokerDecision[] = [];
let store: KeyStore;
let now = Date.now();

async function sealWith(policy: PolicyInput | undefined): Promise<{ envelope: Uint8Array; digest: string; key: string }> {
  const sealed = sealArtifact(new TextEncoder().encode(`${new TextDecoder().decode(code)} ${Math.random()}`));
  const key = Buffer.from(sealed.key).toString("base64url");
  if (policy !== undefined) await store.put({ artifactDigest: sealed.digest, key: sealed.key, policy });
  return { envelope: encodeSealedUpload({ kind: "wasm", digest: sealed.digest, ciphertext: sealed.ciphertext }), digest: sealed.digest, key };
}

const allowSim = (): PolicyInput => ({ tee: { sim: { measurements: [measurement] } } });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tfaas-kbs-"));
  identity = await createWorkerIdentity({ instance: "w", tee: "sim", receipts: "off", dataDir: dir, simDebug: false });
  debugIdentity = await createWorkerIdentity({ instance: "d", tee: "sim", receipts: "off", dataDir: dir, simDebug: true });
  const evidence = await identity.attest(new Uint8Array(32));
  measurement = evidence.measurement;
  platformKey = parseSimEvidence(evidence.bytes).platformKey;
  store = new KeyStore(path.join(dir, "kbs"));
  const broker = new KeyBroker({ keys: store, trustAnchors: { sim: { platformKeys: [platformKey] } }, record: (decision) => decisions.push(decision), now: () => now });
  server = await serveKeyBroker(broker, { port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<TfaasError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(TfaasError);
  return error as TfaasError;
}

describe("key broker", () => {
  it("releases the key to a worker whose evidence satisfies the policy; the worker opens the code", async () => {
    const sealed = await sealWith(allowSim());
    const opened = await openSealedCode(sealed.envelope, server.url, "f", identity);
    expect(opened.digest).toBe(sealed.digest);
    expect(new TextDecoder().decode(opened.plaintext)).toMatch(/KBS-UNIT-MARKER/);
    expect(decisions.at(-1)).toMatchObject({ decision: "release", artifactDigest: sealed.digest, workerId: identity.info.workerId, tee: "sim", measurement });
    expect(decisions.at(-1)?.reason).toMatch(/SIMULATED/);
  });

  it("denies by default: an artifact without a key, and a key without a usable policy", async () => {
    const unknown = await sealWith(undefined);
    expect((await refusal(openSealedCode(unknown.envelope, server.url, "f", identity))).message).toMatch(/403.*no key is held/);
    const noPolicy = await sealWith(undefined);
    const file = path.join(store.dir, "keys", `${noPolicy.digest.slice(7)}.json`);
    await store.put({ artifactDigest: noPolicy.digest, key: new Uint8Array(32).fill(1), policy: allowSim() });
    const json = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    delete json.policy;
    writeFileSync(file, JSON.stringify(json));
    const error = await refusal(openSealedCode(noPolicy.envelope, server.url, "f", identity));
    expect(error.code).toBe("forbidden");
    expect(error.message).toMatch(/no usable policy .*deny by default/);
    expect(decisions.at(-1)).toMatchObject({ decision: "deny", artifactDigest: noPolicy.digest });
  });

  it("denies a wrong measurement, a policy that forbids sim, and debug, naming the failed check", async () => {
    const wrong = await sealWith({ tee: { sim: { measurements: ["ab".repeat(32)] } } });
    expect((await refusal(openSealedCode(wrong.envelope, server.url, "f", identity))).message).toMatch(/policy\.measurement/);
    const noSim = await sealWith({ tee: { "sev-snp": { measurements: ["cd".repeat(48)] } } });
    expect((await refusal(openSealedCode(noSim.envelope, server.url, "f", identity))).message).toMatch(/policy\.tee-type: evidence is sim; policy allows sev-snp/);
    const debug = await sealWith(allowSim());
    expect((await refusal(openSealedCode(debug.envelope, server.url, "f", debugIdentity))).message).toMatch(/policy\.debug-disabled/);
    expect(decisions.slice(-3).map((decision) => decision.decision)).toEqual(["deny", "deny", "deny"]);
  });

  it("denies replayed evidence, a nonce for another artifact, an expired nonce and keys that are not the bound ones", async () => {
    const sealed = await sealWith(allowSim());
    const post = (pathname: string, body: unknown) => fetch(server.url + pathname, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const challenge = async (digest: string) => new Uint8Array(Buffer.from(((await (await post(KEY_RELEASE_PATHS.challenge, { artifactDigest: digest })).json()) as { nonce: string }).nonce, "base64url"));
    const nonce = await challenge(sealed.digest);
    const body = keyRequestBody(sealed.digest, nonce, identity, await identity.attest(nonce));
    expect((await post(KEY_RELEASE_PATHS.key, body)).status).toBe(200);
    const replay = await post(KEY_RELEASE_PATHS.key, body);
    expect(replay.status).toBe(403);
    expect(await replay.text()).toMatch(/nonce unknown, already used or expired \(replayed evidence\?\)/);

    const other = await sealWith(allowSim());
    const foreign = await challenge(other.digest);
    const misused = await post(KEY_RELEASE_PATHS.key, keyRequestBody(sealed.digest, foreign, identity, await identity.attest(foreign)));
    expect(await misused.text()).toMatch(/issued for another artifact/);

    const late = await challenge(sealed.digest);
    const evidence = await identity.attest(late);
    now += 61_000;
    expect(await (await post(KEY_RELEASE_PATHS.key, keyRequestBody(sealed.digest, late, identity, evidence))).text()).toMatch(/expired/);

    // Evidence of this worker presented with another worker's HPKE key: the wrap would go to a key the evidence does not bind.
    const swapped = await challenge(sealed.digest);
    const request = keyRequestBody(sealed.digest, swapped, identity, await identity.attest(swapped));
    const stolen = await post(KEY_RELEASE_PATHS.key, { ...request, boundKeys: { ...request.boundKeys, hpke: debugIdentity.info.boundKeys.hpke } });
    expect(stolen.status).toBe(403);
    expect(await stolen.text()).toMatch(/binding\.report-data/);
  });

  it("records every decision with its reason and never a key", async () => {
    const keys = (await Promise.all((await store.list()).map((digest) => store.get(digest)))).map((entry) => Buffer.from(entry!.key).toString("base64url"));
    expect(decisions.length).toBeGreaterThanOrEqual(9);
    const text = JSON.stringify(decisions);
    for (const key of keys) expect(text).not.toContain(key);
    for (const decision of decisions) expect(decision.reason.length).toBeGreaterThan(10);
  });

  it("refuses malformed requests with 400 and other methods with 405", async () => {
    const malformed = await fetch(server.url + KEY_RELEASE_PATHS.key, { method: "POST", body: "{}" });
    expect(malformed.status).toBe(400);
    expect(decisions.at(-1)).toMatchObject({ decision: "deny" });
    expect((await fetch(server.url + KEY_RELEASE_PATHS.challenge)).status).toBe(405);
  });
});
