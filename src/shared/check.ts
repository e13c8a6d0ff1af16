/** One named verification step and its outcome; verifiers (evidence, receipts) return every step they performed. */
export interface Check {
  /** Stable, dotted name, e.g. `sev-snp.report-signature`, `policy.measurement`, `receipt.signature`. */
  name: string;
  ok: boolean;
  /** What was compared or why it failed; public data only (no keys' secret parts, no bodies). */
  detail: string;
}
