/**
 * Platform configuration: defaults, then environment, then flags; validated once, at start,
 * as one clear error listing every problem.
 */
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { attestationConfigSchema, attestationFromEnv } from "../attestation/config.js";
import { JS_ENGINES } from "../sandbox/js/index.js";
import { JS_PREWARM_ENV, parseJsPrewarm } from "../sandbox/js/prewarm.js";
import { Defaults } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import { parseDurationMs } from "../shared/units.js";

const configSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
  dataDir: z.string().min(1),
  workers: z.number().int().min(1).max(256),
  adminUser: z.string().min(1).regex(/^[^:]+$/, "must not contain ':'"),
  /** From TFAAS_ADMIN_PASSWORD; when absent a generated one is kept in the data directory. */
  adminPassword: z.string().min(1).optional(),
  maxRequestBytes: z.number().int().positive(),
  maxArtifactBytes: z.number().int().positive(),
  maxOutputBytes: z.number().int().positive(),
  execTimeoutMs: z.number().int().positive(),
  maxLogEntriesPerFunction: z.number().int().positive(),
  /** Default fuel budget per call (decimal: fuel is 64-bit); a function's com.tfaas.limits.fuel overrides it. */
  fuelLimit: z.string().regex(/^[1-9][0-9]{0,18}$/, "must be a whole number of fuel units ≥ 1"),
  /** Workers' TEE backend and receipts (src/attestation, docs/attestation.md). */
  attestation: attestationConfigSchema,
  /** Asynchronous invocations (src/queue, docs/async.md). */
  async: z.object({
    concurrency: z.number().int().min(1).max(10_000),
    functionConcurrency: z.number().int().min(1).max(1000),
    maxDepth: z.number().int().min(1),
    maxAttempts: z.number().int().min(1).max(1000),
    retryBaseMs: z.number().int().min(1),
    retryMaxMs: z.number().int().min(1),
    retentionMs: z.number().int().min(1000),
    callbackAttempts: z.number().int().min(1).max(1000),
    callbackTimeoutMs: z.number().int().min(1),
    callbackAllow: z.array(z.string()),
    callbackDeny: z.array(z.string()),
    sync: z.enum(["full", "normal"]),
  }),
  /** Distributed mode (docs/distributed.md), from TFAAS_NATS_URL / `--nats`; absent means embedded. */
  nats: z
    .object({
      /** One URL or several, comma-separated; credentials in it are never logged. */
      url: z.string().min(1),
      /** TFAAS_NATS_REPLICAS: copies of every stream and bucket: 1 (one server) or 3/5 (a cluster). */
      replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]),
      /** TFAAS_NATS_ACK_WAIT: how long a vanished gateway's running async calls stay leased before another gateway runs them again. */
      ackWaitMs: z.number().int().min(300),
    })
    .optional(),
  /** TFAAS_JS_PREWARM: JavaScript engines every worker starts before any deploy (docs/javascript.md); default both, `none` for none. */
  jsPrewarm: z.array(z.enum(JS_ENGINES)),
  /** TFAAS_SECRETS_KEY_FILE: the 32-byte key sealing secrets in NATS; default `<data-dir>/secrets.key` (distributed mode only). */
  secretsKeyFile: z.string().min(1).optional(),
});

export type PlatformConfig = z.infer<typeof configSchema>;

/** What a caller may set; anything left out comes from the environment or the defaults. */
export type ConfigOverrides = Partial<{ [K in keyof PlatformConfig]: PlatformConfig[K] | undefined }>;

function intFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) {
    throw new TfaasError("invalid-request", `Cannot read ${name}: expected an integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

// ── Asynchronous invocations: TFAAS_ASYNC_* (durations like 500ms, 30s, 1h; lists comma-separated) ──
export const AsyncDefaults = {
  /** TFAAS_ASYNC_CONCURRENCY: async calls running at once, all functions together. */
  concurrency: 16,
  /** TFAAS_ASYNC_FUNCTION_CONCURRENCY: per function, unless its annotation com.tfaas.async.concurrency says otherwise. */
  functionConcurrency: 1,
  /** TFAAS_ASYNC_MAX_DEPTH: queued calls beyond this are refused with 429. */
  maxDepth: 100_000,
  /** TFAAS_ASYNC_MAX_ATTEMPTS: attempts per call on 429/5xx, unless com.tfaas.async.max-attempts says otherwise. */
  maxAttempts: 3,
  /** TFAAS_ASYNC_RETRY_BASE and TFAAS_ASYNC_RETRY_MAX: exponential backoff of invocation and callback retries. */
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
  /** TFAAS_ASYNC_RETENTION: how long finished calls and their results stay visible. */
  retentionMs: 3_600_000,
  /** TFAAS_ASYNC_CALLBACK_ATTEMPTS and TFAAS_ASYNC_CALLBACK_TIMEOUT: per callback delivery. */
  callbackAttempts: 5,
  callbackTimeoutMs: 10_000,
  /** TFAAS_ASYNC_CALLBACK_ALLOW / TFAAS_ASYNC_CALLBACK_DENY: the callback (SSRF) policy; this deny list is the embedded default. */
  callbackAllow: [] as string[],
  callbackDeny: ["link-local", "reserved"],
  /** TFAAS_ASYNC_SYNC: `full` fsyncs every acknowledged enqueue (survives power loss); `normal` survives process crashes only, for throughput. */
  sync: "full",
} as const;

function durationFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = parseDurationMs(raw);
  if (value === undefined) throw new TfaasError("invalid-request", `Cannot read ${name}: expected a duration like 30s or 1h, got ${JSON.stringify(raw)}`);
  return Math.round(value);
}

function listFromEnv(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  return raw.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
}

function asyncFromEnv(env: NodeJS.ProcessEnv): PlatformConfig["async"] {
  return {
    concurrency: intFromEnv(env, "TFAAS_ASYNC_CONCURRENCY") ?? AsyncDefaults.concurrency,
    functionConcurrency: intFromEnv(env, "TFAAS_ASYNC_FUNCTION_CONCURRENCY") ?? AsyncDefaults.functionConcurrency,
    maxDepth: intFromEnv(env, "TFAAS_ASYNC_MAX_DEPTH") ?? AsyncDefaults.maxDepth,
    maxAttempts: intFromEnv(env, "TFAAS_ASYNC_MAX_ATTEMPTS") ?? AsyncDefaults.maxAttempts,
    retryBaseMs: durationFromEnv(env, "TFAAS_ASYNC_RETRY_BASE") ?? AsyncDefaults.retryBaseMs,
    retryMaxMs: durationFromEnv(env, "TFAAS_ASYNC_RETRY_MAX") ?? AsyncDefaults.retryMaxMs,
    retentionMs: durationFromEnv(env, "TFAAS_ASYNC_RETENTION") ?? AsyncDefaults.retentionMs,
    callbackAttempts: intFromEnv(env, "TFAAS_ASYNC_CALLBACK_ATTEMPTS") ?? AsyncDefaults.callbackAttempts,
    callbackTimeoutMs: durationFromEnv(env, "TFAAS_ASYNC_CALLBACK_TIMEOUT") ?? AsyncDefaults.callbackTimeoutMs,
    callbackAllow: listFromEnv(env, "TFAAS_ASYNC_CALLBACK_ALLOW") ?? [...AsyncDefaults.callbackAllow],
    callbackDeny: listFromEnv(env, "TFAAS_ASYNC_CALLBACK_DENY") ?? [...AsyncDefaults.callbackDeny],
    sync: (env.TFAAS_ASYNC_SYNC || AsyncDefaults.sync) as PlatformConfig["async"]["sync"],
  };
}
// ── end of asynchronous invocations ──

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const candidate = {
    host: env.TFAAS_HOST || Defaults.host,
    port: intFromEnv(env, "TFAAS_PORT") ?? Defaults.port,
    dataDir: env.TFAAS_DATA_DIR || Defaults.dataDir,
    workers: intFromEnv(env, "TFAAS_WORKERS") ?? Math.max(1, os.availableParallelism()),
    adminUser: env.TFAAS_ADMIN_USER || Defaults.adminUser,
    adminPassword: env.TFAAS_ADMIN_PASSWORD || undefined,
    maxRequestBytes: intFromEnv(env, "TFAAS_MAX_REQUEST_BYTES") ?? Defaults.maxRequestBytes,
    maxArtifactBytes: intFromEnv(env, "TFAAS_MAX_ARTIFACT_BYTES") ?? Defaults.maxArtifactBytes,
    maxOutputBytes: intFromEnv(env, "TFAAS_MAX_OUTPUT_BYTES") ?? Defaults.maxOutputBytes,
    execTimeoutMs: Defaults.execTimeoutMs,
    maxLogEntriesPerFunction: Defaults.maxLogLinesPerFunction,
    fuelLimit: env.TFAAS_FUEL_LIMIT || Defaults.fuelLimit,
    async: asyncFromEnv(env),
    attestation: attestationFromEnv(env),
    ...(env.TFAAS_NATS_URL ? { nats: { url: env.TFAAS_NATS_URL, replicas: intFromEnv(env, "TFAAS_NATS_REPLICAS") ?? 1, ackWaitMs: durationFromEnv(env, "TFAAS_NATS_ACK_WAIT") ?? 30_000 } } : {}),
    ...(env.TFAAS_SECRETS_KEY_FILE ? { secretsKeyFile: env.TFAAS_SECRETS_KEY_FILE } : {}),
    jsPrewarm: parseJsPrewarm(env[JS_PREWARM_ENV]),
    ...defined,
  };
  if (candidate.adminPassword === undefined) delete (candidate as { adminPassword?: string }).adminPassword;
  const parsed = configSchema.safeParse(candidate);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new TfaasError("invalid-request", `Cannot start: invalid configuration: ${problems}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
}
