/** The contract every TEE backend implements; see index.ts for the whole face. */
export const TEE_TYPES = ["sim", "sev-snp", "tdx", "sgx"] as const;
export type TeeType = (typeof TEE_TYPES)[number];

/** Report data is always exactly this long (SEV-SNP, TDX and SGX all carry 64 bytes). */
export const REPORT_DATA_LENGTH = 64;

export interface Evidence {
  type: TeeType;
  /** The raw report or quote as the TEE produced it (sim: the simulated evidence structure). */
  bytes: Uint8Array;
  /**
   * DER certificates the platform supplied next to the evidence (SEV-SNP: the host's certificate
   * table, e.g. the VCEK; sim: none). Untrusted until a verifier chains them to a trust anchor.
   */
  certificates: Uint8Array[];
}

export interface TeeDescription {
  type: TeeType;
  /** True only for `sim`: no hardware protects anything. */
  simulated: boolean;
  /** One line for status pages and logs. */
  summary: string;
  /** What this backend does not protect against, in plain words (shown wherever attestation state is). */
  doesNotProtect: string[];
}

export interface TeeBackend {
  readonly type: TeeType;
  /**
   * Evidence binding `reportData` (exactly 64 bytes, else `invalid-request`). Hardware backends
   * take about a second; call once per worker key set, not per invocation. Concurrent calls are
   * safe. A missing or misbehaving device fails with `unavailable`.
   */
  evidence(reportData: Uint8Array): Promise<Evidence>;
  describe(): TeeDescription;
}
