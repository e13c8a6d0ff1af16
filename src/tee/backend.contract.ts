/**
 * The contract every TeeBackend passes: call `describeTeeBackendContract` from a test file with a
 * factory that opens a fresh backend (over a fake device tree for hardware backends) and a
 * `dispose` that removes whatever it created.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { TEE_TYPES, type TeeBackend } from "./backend.js";
import { reportDataOf } from "./evidence.js";

export interface OpenedBackend {
  backend: TeeBackend;
  dispose(): Promise<void>;
}

export function describeTeeBackendContract(name: string, open: () => Promise<OpenedBackend>): void {
  describe(`TeeBackend contract: ${name}`, () => {
    let opened: OpenedBackend | undefined;
    let backend: TeeBackend;

    beforeEach(async () => {
      opened = await open();
      backend = opened.backend;
    });

    afterEach(async () => {
      await opened?.dispose();
      opened = undefined;
    });

    it("produces evidence of its own type that carries exactly the report data it was given", async () => {
      expect(TEE_TYPES).toContain(backend.type);
      const reportData = randomBytes(64);
      const evidence = await backend.evidence(reportData);
      expect(evidence.type).toBe(backend.type);
      expect(evidence.bytes.length).toBeGreaterThan(64);
      expect(Buffer.from(reportDataOf(evidence))).toEqual(reportData);
      expect(Array.isArray(evidence.certificates)).toBe(true);
    });

    it("binds different report data into different evidence", async () => {
      const first = await backend.evidence(Buffer.alloc(64, 1));
      const second = await backend.evidence(Buffer.alloc(64, 2));
      expect(Buffer.from(first.bytes).equals(second.bytes)).toBe(false);
      expect(reportDataOf(second)[0]).toBe(2);
    });

    it.each([0, 32, 63, 65])("rejects %i bytes of report data with invalid-request", async (length) => {
      const error: unknown = await backend.evidence(new Uint8Array(length)).catch((rejection: unknown) => rejection);
      expect(error).toBeInstanceOf(TfaasError);
      expect((error as TfaasError).code).toBe("invalid-request");
      expect((error as TfaasError).message).toContain(`current report data length is ${length}`);
    });

    it("answers concurrent requests each with its own report data", async () => {
      const inputs = Array.from({ length: 6 }, () => randomBytes(64));
      const results = await Promise.all(inputs.map((input) => backend.evidence(input)));
      results.forEach((evidence, index) => expect(Buffer.from(reportDataOf(evidence))).toEqual(inputs[index]));
    });

    it("describes itself, saying loudly whether it is simulated and what it does not protect", () => {
      const description = backend.describe();
      expect(description.type).toBe(backend.type);
      expect(description.simulated).toBe(backend.type === "sim");
      expect(description.summary.length).toBeGreaterThan(10);
      expect(description.doesNotProtect.length).toBeGreaterThan(0);
      if (description.simulated) {
        expect(description.summary).toContain("SIMULATED");
        expect(description.doesNotProtect.join(" ")).toMatch(/read .*memory/);
        expect(description.doesNotProtect.join(" ")).toMatch(/disk/);
      }
    });
  });
}
