/**
 * Platform configuration: defaults, then environment, then flags; validated once, at start,
 * as one clear error listing every problem.
 */
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { Defaults } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";

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
