/** Wire-level names, defined once. */

export const DEFAULT_NAMESPACE = "openfaas-fn";

export const Headers = {
  callId: "x-call-id",
  startTime: "x-start-time",
  durationSeconds: "x-duration-seconds",
  error: "x-tfaas-error",
  fuel: "x-tfaas-fuel",
  memoryPeakBytes: "x-tfaas-memory-peak-bytes",
  ioBytes: "x-tfaas-io-bytes",
  authenticate: "www-authenticate",
} as const;

export const Annotations = {
  abi: "com.tfaas.abi",
  fuelLimit: "com.tfaas.limits.fuel",
  scaleMin: "com.openfaas.scale.min",
  scaleMax: "com.openfaas.scale.max",
  /** "true": only Oblivious HTTP requests encrypted to an attested worker are accepted (docs/confidential.md). */
  confidential: "com.tfaas.confidential",
  /** The key broker a sealed artifact's key is released by (an http(s) URL). */
  keyBroker: "com.tfaas.kbs",
} as const;

/** Environment variables a function may set in `envVars` to tune its limits, as the OpenFaaS watchdog reads them. */
export const WatchdogEnv = {
  execTimeout: "exec_timeout",
  maxInflight: "max_inflight",
} as const;

export const Defaults = {
  host: "127.0.0.1",
  port: 8080,
  dataDir: ".tfaas",
  adminUser: "admin",
  execTimeoutMs: 30_000,
  maxRequestBytes: 10 * 1024 * 1024,
  maxArtifactBytes: 64 * 1024 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  maxLogLinesPerFunction: 10_000,
  /** About a second of CPU-bound work at weights v1; raise it per function with com.tfaas.limits.fuel. */
  fuelLimit: "2000000000",
} as const;

export const SECRETS_MOUNT = "/var/openfaas/secrets";

export const WASM_PAGE_BYTES = 65_536;
