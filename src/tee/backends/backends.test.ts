import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../../shared/errors.js";
import { describeTeeBackendContract } from "../backend.contract.js";
import { parseDcapQuote } from "../dcap/quote.js";
import { quoteSignaturesVerify } from "../dcap/verify.js";
import { parseSevSnpReport } from "../sev-snp/report.js";
import { sevSnpSignatureVerifies } from "../sev-snp/verify.js";
import { createSimBackend } from "../sim/backend.js";
import { SIM_PLATFORM_KEY_FILE, loadOrCreateSimPlatformKey } from "../sim/platform-key.js";
import { createFakeGramine, createFakeTsm } from "../testing/fake-devices.js";
import { buildSevSnpReport, buildSgxQuote, buildTdxQuote } from "../testing/synthetic.js";
import { createConfigfsTsmBackend } from "./configfs-tsm.js";
import { createGramineBackend } from "./gramine.js";
import { createTeeBackend } from "./index.js";
import { guidBytes, parseSevSnpCertificateTable } from "./snp-certificate-table.js";

const vcek = generateKeyPairSync("ec", { namedCurve: "P-384" });
const attestation = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pck = generateKeyPairSync("ec", { namedCurve: "P-256" });
const quoteKeys = { attestationKey: attestation.privateKey, attestationPublicKey: attestation.publicKey, pckKey: pck.privateKey };
const produceSnp = (reportData: Uint8Array): Uint8Array => buildSevSnpReport({ reportData, vcek: vcek.privateKey });
const produceTdx = (reportData: Uint8Array): Uint8Array => buildTdxQuote({ ...quoteKeys, reportData });
const produceSgx = (reportData: Uint8Array): Uint8Array => buildSgxQuote({ ...quoteKeys, reportData });

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), "tfaas-tee-"));
}

describeTeeBackendContract("sim", async () => {
  const dataDir = await temporaryDirectory();
  const backend = await createSimBackend({ dataDir, measurement: Buffer.alloc(32, 7) });
  return { backend, dispose: () => rm(dataDir, { recursive: true, force: true }) };
});

describeTeeBackendContract("sev-snp via configfs-tsm (fake kernel tree)", async () => {
  const tsm = await createFakeTsm({ provider: "sev_guest", produce: produceSnp });
  return { backend: createConfigfsTsmBackend({ type: "sev-snp", root: tsm.root, files: tsm.files }), dispose: tsm.dispose };
});

describeTeeBackendContract("tdx via configfs-tsm (fake kernel tree)", async () => {
  const tsm = await createFakeTsm({ provider: "tdx_guest", produce: produceTdx });
  return { backend: createConfigfsTsmBackend({ type: "tdx", root: tsm.root, files: tsm.files }), dispose: tsm.dispose };
});

describeTeeBackendContract("sgx via Gramine /dev/attestation (fake tree)", async () => {
  const gramine = await createFakeGramine({ produce: produceSgx });
  return { backend: createGramineBackend({ root: gramine.root, files: gramine.files }), dispose: gramine.dispose };
});

async function rejection(promise: Promise<unknown>): Promise<TfaasError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TfaasError);
  return error as TfaasError;
}

describe("configfs-tsm backend", () => {
  it("removes its entry after each request and returns the report the kernel produced, signature intact", async () => {
    const tsm = await createFakeTsm({ provider: "sev_guest", produce: produceSnp });
    try {
      const backend = createConfigfsTsmBackend({ type: "sev-snp", root: tsm.root, files: tsm.files });
      const evidence = await backend.evidence(Buffer.alloc(64, 9));
      expect(await tsm.remainingEntries()).toEqual([]);
      expect(evidence.certificates).toEqual([]);
      expect(sevSnpSignatureVerifies(parseSevSnpReport(evidence.bytes), vcek.publicKey)).toBe(true);
    } finally {
      await tsm.dispose();
    }
  });

  it("returns the host's certificate table from auxblob as DER certificates", async () => {
    const vcekDer = Buffer.from("3082000a0201010405" + "aa".repeat(5), "hex"); // stands in for the VCEK's DER
    const table = Buffer.alloc(48 + vcekDer.length);
    table.set(guidBytes("63da758d-e664-4564-adc5-f4b93be8accd"), 0);
    table.writeUInt32LE(48, 16);
    table.writeUInt32LE(vcekDer.length, 20);
    table.set(vcekDer, 48);
    expect(parseSevSnpCertificateTable(table)).toEqual([{ guid: "63da758d-e664-4564-adc5-f4b93be8accd", role: "vcek", der: new Uint8Array(vcekDer) }]);
    const tsm = await createFakeTsm({ provider: "sev_guest", produce: produceSnp, auxblob: table });
    try {
      const evidence = await createConfigfsTsmBackend({ type: "sev-snp", root: tsm.root, files: tsm.files }).evidence(Buffer.alloc(64));
      expect(evidence.certificates.map((der) => Buffer.from(der))).toEqual([vcekDer]);
    } finally {
      await tsm.dispose();
    }
  }, 10_000);

  it("retries in a fresh entry when a concurrent writer changes the generation, and fails clearly when it keeps happening", async () => {
    const once = await createFakeTsm({ provider: "tdx_guest", produce: produceTdx, racingAttempts: 1 });
    try {
      const evidence = await createConfigfsTsmBackend({ type: "tdx", root: once.root, files: once.files }).evidence(Buffer.alloc(64, 3));
      expect(parseDcapQuote(evidence.bytes).body.reportData[0]).toBe(3);
      expect(once.entriesCreated()).toBe(2);
      expect(await once.remainingEntries()).toEqual([]);
    } finally {
      await once.dispose();
    }
    const always = await createFakeTsm({ provider: "tdx_guest", produce: produceTdx, racingAttempts: 99 });
    try {
      const error = await rejection(createConfigfsTsmBackend({ type: "tdx", root: always.root, files: always.files, maxAttempts: 3 }).evidence(Buffer.alloc(64)));
      expect(error.code).toBe("unavailable");
      expect(error.message).toContain("generation changed during each of 3 attempts");
      expect(always.entriesCreated()).toBe(3);
      expect(await always.remainingEntries()).toEqual([]);
    } finally {
      await always.dispose();
    }
  });

  it("turns an I/O failure of the device into unavailable naming the file, and still removes the entry", async () => {
    const tsm = await createFakeTsm({ provider: "sev_guest", produce: produceSnp, failRead: { file: "outblob", code: "EIO" } });
    try {
      const error = await rejection(createConfigfsTsmBackend({ type: "sev-snp", root: tsm.root, files: tsm.files }).evidence(Buffer.alloc(64)));
      expect(error.code).toBe("unavailable");
      expect(error.message).toBe("Cannot request sev-snp evidence: configfs-tsm outblob failed (current error EIO)");
      expect(await tsm.remainingEntries()).toEqual([]);
    } finally {
      await tsm.dispose();
    }
  });

  it("refuses a provider of the other TEE and a missing report root, with unavailable", async () => {
    const tsm = await createFakeTsm({ provider: "sev_guest", produce: produceSnp });
    try {
      const wrong = await rejection(createConfigfsTsmBackend({ type: "tdx", root: tsm.root, files: tsm.files }).evidence(Buffer.alloc(64)));
      expect(wrong.code).toBe("unavailable");
      expect(wrong.message).toContain('current configfs-tsm provider is "sev_guest", expected tdx_guest');
      expect(await tsm.remainingEntries()).toEqual([]);
    } finally {
      await tsm.dispose();
    }
    const missing = await rejection(createConfigfsTsmBackend({ type: "sev-snp", root: join(tmpdir(), "tfaas-no-such-tsm") }).evidence(Buffer.alloc(64)));
    expect(missing.code).toBe("unavailable");
    expect(missing.message).toContain("is not usable (ENOENT)");
  });
});

describe("Gramine backend", () => {
  it("returns the quote for the report data written, verifiable with the quote's keys", async () => {
    const gramine = await createFakeGramine({ produce: produceSgx });
    try {
      const evidence = await createGramineBackend({ root: gramine.root, files: gramine.files }).evidence(Buffer.alloc(64, 5));
      const quote = parseDcapQuote(evidence.bytes);
      expect(quote.kind).toBe("sgx");
      expect(quote.body.reportData[63]).toBe(5);
      expect(quoteSignaturesVerify(quote, pck.publicKey)).toEqual({ qeReport: true, binding: true, quote: true });
    } finally {
      await gramine.dispose();
    }
  });

  it("refuses EPID (or no) attestation and a missing /dev/attestation with unavailable", async () => {
    const gramine = await createFakeGramine({ produce: produceSgx, attestationType: "epid" });
    try {
      const error = await rejection(createGramineBackend({ root: gramine.root, files: gramine.files }).evidence(Buffer.alloc(64)));
      expect(error.code).toBe("unavailable");
      expect(error.message).toContain('current Gramine attestation type is "epid", expected "dcap"');
    } finally {
      await gramine.dispose();
    }
    const missing = await rejection(createGramineBackend({ root: join(tmpdir(), "tfaas-no-such-attestation") }).evidence(Buffer.alloc(64)));
    expect(missing.code).toBe("unavailable");
  });
});

describe("sim backend and its platform key", () => {
  it("keeps one platform key per data directory, mode 0600, and reuses it", async () => {
    const dataDir = await temporaryDirectory();
    try {
      const first = await createSimBackend({ dataDir, measurement: Buffer.alloc(32) });
      const path = join(dataDir, SIM_PLATFORM_KEY_FILE);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const second = await createTeeBackend({ type: "sim", dataDir, measurement: Buffer.alloc(32) });
      expect(Buffer.from((second as typeof first).platformPublicKey)).toEqual(Buffer.from(first.platformPublicKey));
      const racing = await Promise.all([1, 2, 3].map(() => loadOrCreateSimPlatformKey(join(dataDir, "fresh"))));
      expect(new Set(racing.map((key) => Buffer.from(key.publicKey).toString("hex"))).size).toBe(1);
      expect(existsSync(join(dataDir, "fresh", SIM_PLATFORM_KEY_FILE))).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses a platform key file others can read", async () => {
    const dataDir = await temporaryDirectory();
    try {
      await createSimBackend({ dataDir, measurement: Buffer.alloc(32) });
      await chmod(join(dataDir, SIM_PLATFORM_KEY_FILE), 0o644);
      const error = await rejection(createSimBackend({ dataDir, measurement: Buffer.alloc(32) }));
      expect(error.message).toContain("current mode is 0644");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("rejects an empty or oversized measurement", async () => {
    const dataDir = await temporaryDirectory();
    try {
      expect((await rejection(createSimBackend({ dataDir, measurement: new Uint8Array(0) }))).code).toBe("invalid-request");
      expect((await rejection(createSimBackend({ dataDir, measurement: new Uint8Array(65) }))).message).toContain("current measurement length is 65");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
