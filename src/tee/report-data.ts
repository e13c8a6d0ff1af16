import { TfaasError } from "../shared/errors.js";
import { REPORT_DATA_LENGTH } from "./backend.js";

/** Backends accept exactly 64 bytes of report data; anything else is the caller's bug. */
export function requireReportData(reportData: Uint8Array): Uint8Array<ArrayBuffer> {
  if (reportData.length !== REPORT_DATA_LENGTH) {
    throw new TfaasError("invalid-request", `Cannot request evidence: current report data length is ${reportData.length}, expected ${REPORT_DATA_LENGTH}`);
  }
  return new Uint8Array(reportData);
}
