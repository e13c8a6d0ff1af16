/**
 * `sgx` inside a Gramine enclave through its /dev/attestation pseudo-files: write the 64 bytes of
 * report data to `user_report_data`, read `quote` (an SGX DCAP quote, version 3). Gramine keeps
 * one report-data slot per enclave, so calls are serialised within this process.
 *
 * Guarantee stops here: only one TFaaS process per enclave may request quotes (another process
 * inside the same enclave writing `user_report_data` concurrently could swap the report data;
 * the verifier would then reject the quote, not accept a wrong one). EPID quotes are refused.
 */
import { join } from "node:path";
import { TfaasError } from "../../shared/errors.js";
import type { Evidence, TeeBackend, TeeDescription } from "../backend.js";
import { requireReportData } from "../report-data.js";
import { errnoCode, nodeDeviceFiles, type DeviceFiles } from "./device-files.js";

export const DEFAULT_GRAMINE_ATTESTATION_ROOT = "/dev/attestation";

export interface GramineOptions {
  /** Default /dev/attestation. */
  root?: string;
  files?: DeviceFiles;
}

export function createGramineBackend(options: GramineOptions = {}): TeeBackend {
  const root = options.root ?? DEFAULT_GRAMINE_ATTESTATION_ROOT;
  const files = options.files ?? nodeDeviceFiles;
  let queue: Promise<unknown> = Promise.resolve();
  const description: TeeDescription = {
    type: "sgx",
    simulated: false,
    summary: `Intel SGX enclave via Gramine (${root}, DCAP quotes)`,
    doesNotProtect: [
      "Side channels (cache, page-fault, power) the SGX threat model leaves to the enclave's code.",
      "Bugs in Gramine, Node.js and TFaaS inside the enclave: MRENCLAVE says what was loaded, not that it is correct.",
      "Debug enclaves (ATTRIBUTES.DEBUG): the verifier must reject them.",
    ],
  };

  async function quote(reportData: Uint8Array): Promise<Evidence> {
    let attestationType: string;
    try {
      attestationType = Buffer.from(await files.readFile(join(root, "attestation_type"))).toString("utf8").trim();
    } catch (error) {
      throw new TfaasError("unavailable", `Cannot request sgx evidence: current Gramine attestation root ${root} is not usable (${errnoCode(error) ?? "error"})`, { cause: error });
    }
    if (attestationType !== "dcap") {
      throw new TfaasError("unavailable", `Cannot request sgx evidence: current Gramine attestation type is ${JSON.stringify(attestationType)}, expected "dcap"`);
    }
    let bytes: Uint8Array;
    try {
      await files.writeFile(join(root, "user_report_data"), reportData);
      bytes = await files.readFile(join(root, "quote"));
    } catch (error) {
      throw new TfaasError("unavailable", `Cannot request sgx evidence: Gramine quote generation failed (current error ${errnoCode(error) ?? "unknown"})`, { cause: error });
    }
    if (bytes.length === 0) throw new TfaasError("unavailable", "Cannot request sgx evidence: current quote is empty");
    return { type: "sgx", bytes, certificates: [] };
  }

  return {
    type: "sgx",
    evidence(reportData: Uint8Array): Promise<Evidence> {
      let data: Uint8Array;
      try {
        data = requireReportData(reportData);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      const result = queue.then(() => quote(data));
      queue = result.catch(() => undefined);
      return result;
    },
    describe: () => description,
  };
}
