/** Type-directed parsing of evidence: the report data any backend's evidence carries. */
import { TfaasError } from "../shared/errors.js";
import type { Evidence } from "./backend.js";
import { parseDcapQuote } from "./dcap/quote.js";
import { parseSevSnpReport } from "./sev-snp/report.js";
import { parseSimEvidence } from "./sim/evidence.js";

/** The 64 bytes of report data inside `evidence` (parsed, not verified). */
export function reportDataOf(evidence: Evidence): Uint8Array {
  switch (evidence.type) {
    case "sim":
      return parseSimEvidence(evidence.bytes).reportData;
    case "sev-snp":
      return parseSevSnpReport(evidence.bytes).reportData;
    case "tdx":
    case "sgx": {
      const quote = parseDcapQuote(evidence.bytes);
      if (quote.kind !== evidence.type) throw new TfaasError("invalid-request", `Cannot parse ${evidence.type} evidence: current quote is ${quote.kind}`);
      return quote.body.reportData;
    }
  }
}
