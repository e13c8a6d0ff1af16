import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { loadPolicy, parsePolicy, parsePolicyText } from "./policy.js";

const m48 = "ab".repeat(48);

describe("attestation policy", () => {
  it("loads from YAML with defaults: debug off, minimums zero, TCB status UpToDate", async () => {
    const directory = await mkdtemp(join(tmpdir(), "tfaas-policy-"));
    try {
      const path = join(directory, "policy.yaml");
      await writeFile(path, `tee:\n  sev-snp:\n    measurements: ["${m48.toUpperCase()}"]\n  tdx:\n    mrtd: ["${m48}"]\n    rtmr2: ["${"cd".repeat(48)}"]\n  sim:\n    measurements: ["0102"]\nartifactDigests: ["sha256:${"e".repeat(64)}"]\n`);
      const policy = await loadPolicy(path);
      expect(policy.allowDebug).toBe(false);
      expect(policy.tee["sev-snp"]).toEqual({ measurements: [m48], minGuestSvn: 0 });
      expect(policy.tee.tdx?.tcbStatus).toEqual(["UpToDate"]);
      expect(policy.tee.tdx?.rtmr2).toEqual(["cd".repeat(48)]);
      expect(policy.tee.sim).toEqual({ measurements: ["0102"], minSvn: 0 });
      expect(policy.tee.sgx).toBeUndefined();
      expect(policy.artifactDigests).toEqual([`sha256:${"e".repeat(64)}`]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it("names every problem in one invalid-request: unknown keys, wrong lengths, no TEE, incomplete SGX rule", () => {
    const problems = (input: unknown): string => {
      try {
        parsePolicy(input);
      } catch (error) {
        expect(error).toBeInstanceOf(TfaasError);
        expect((error as TfaasError).code).toBe("invalid-request");
        return (error as TfaasError).message;
      }
      throw new Error("policy accepted");
    };
    expect(problems({ tee: {} })).toContain("tee: expected at least one allowed TEE type");
    expect(problems({ tee: { "sev-snp": { measurements: ["abcd"] } } })).toContain("tee.sev-snp.measurements.0: expected 96 hex digits");
    expect(problems({ tee: { tdx: { mrtd: [m48], debug: true } } })).toContain("tee.tdx");
    expect(problems({ tee: { sim: { measurements: ["01"] } }, allowdebug: true })).toMatch(/allowdebug/);
    expect(problems({ tee: { sgx: { mrsigner: ["aa".repeat(32)] } } })).toContain("expected mrenclave, or mrsigner with isvProdId");
    expect(problems({ tee: { nitro: {} } })).toMatch(/nitro/);
    expect(() => parsePolicyText("tee: [unclosed")).toThrow("current text is not valid YAML");
  });
});
