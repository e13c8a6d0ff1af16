/**
 * Composition root: configuration → store → workers → gateway. `up` is what `tfaas up` runs;
 * `startPlatform` is the same without the console and signal handling.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkTeeDevice, SIM_WARNING, workerEnvironment } from "./attestation/index.js";
import { loadConfig, type ConfigOverrides, type PlatformConfig } from "./config/index.js";
import { createGateway, type Gateway } from "./gateway/index.js";
import { JS_PREWARM_ENV } from "./sandbox/js/prewarm.js";
import type { SystemInfo } from "./gateway/system.js";
import { TfaasError } from "./shared/errors.js";
import { createFileOnce } from "./shared/files.js";
import { stopOnSignals } from "./shared/stop-on-signals.js";
import { followCluster, openDistributedBackends } from "./distributed/index.js";
import { redactNatsUrl } from "./store/nats/index.js";
import { openSqliteQueue, type Queue } from "./queue/index.js";
import { openSqliteStore, type Store } from "./store/index.js";
import type { Dispatch } from "./worker/dispatch.js";
import { WorkerPool } from "./worker/pool.js";

export interface Platform {
  url: string;
  config: PlatformConfig;
  adminUser: string;
  /** Where the generated admin password is kept; undefined when it came from the environment. */
  passwordFile: string | undefined;
  gateway: Gateway;
  close(): Promise<void>;
}

const packageRoot = fileURLToPath(new URL("../", import.meta.url));

function systemInfo(orchestration: SystemInfo["orchestration"]): SystemInfo {
  const { version } = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string };
  let sha = "unknown";
  try {
    sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: packageRoot, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim() || sha;
  } catch {
    // Not a git checkout (an installed package): the release alone identifies the build.
  }
  return { release: version, sha, orchestration };
}

/** The admin password: from the environment, else generated once and kept (mode 0600) in the data directory. */
async function adminPassword(config: PlatformConfig): Promise<{ password: string; file: string | undefined }> {
  if (config.adminPassword !== undefined) return { password: config.adminPassword, file: undefined };
  const file = path.join(config.dataDir, "admin-password");
  // Written whole or not at all, and a second `tfaas up` racing on the same directory reads the first one's.
  await createFileOnce(file, randomBytes(24).toString("base64url") + "\n");
  const password = readFileSync(file, "utf8").trim();
  if (password === "") throw new TfaasError("internal", `Cannot start: the admin password file ${file} is empty; remove it to generate a new one`);
  return { password, file };
}

export async function startPlatform(config: PlatformConfig): Promise<Platform> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  await checkTeeDevice(config.attestation);
  const backends = config.nats === undefined ? await embeddedBackends(config) : await distributedBackends(config, config.nats);
  const { store, queue, dispatch } = backends;
  const { password, file } = await adminPassword(config);
  const gateway: Gateway = await createGateway({
    config,
    store,
    dispatch,
    queue,
    credentials: { user: config.adminUser, password },
    info: systemInfo(config.nats === undefined ? "embedded" : "nats"),
  });
  const following = await backends.follow(gateway);
  let address;
  try {
    address = await gateway.listen(config.port, config.host);
  } catch (error) {
    following.stop();
    await dispatch.close();
    await backends.close();
    throw new TfaasError("unavailable", `Cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    config,
    adminUser: config.adminUser,
    passwordFile: file,
    gateway,
    close: async () => {
      following.stop();
      await gateway.close();
      await dispatch.close();
      await backends.close();
    },
  };
}

interface Backends {
  store: Store;
  queue: Queue;
  dispatch: Dispatch;
  /** Starts learning what other gateways do (distributed mode); nothing to follow when embedded. */
  follow(gateway: Gateway): Promise<{ stop(): void }>;
  /** Closes queue and store (the dispatch is closed first, by the caller). */
  close(): Promise<void>;
}

/** One machine: SQLite store and queue, worker child processes. */
async function embeddedBackends(config: PlatformConfig): Promise<Backends> {
  const store = await openSqliteStore({ dataDir: config.dataDir, maxLogEntriesPerFunction: config.maxLogEntriesPerFunction });
  const queue = await openSqliteQueue({ dataDir: config.dataDir, maxDepth: config.async.maxDepth, synchronous: config.async.sync });
  let gateway: Gateway | undefined;
  const pool = new WorkerPool({
    size: config.workers,
    env: { ...workerEnvironment(config.attestation, config.dataDir), [JS_PREWARM_ENV]: config.jsPrewarm.join(",") || "none" },
    onRestart: (instance) => gateway?.metrics.workerRestarts.labels(instance).inc(),
  });
  return {
    store,
    queue,
    dispatch: pool,
    follow: async (created) => {
      gateway = created;
      return { stop: () => undefined };
    },
    close: async () => {
      await queue.close();
      await store.close();
    },
  };
}

/** Many machines: NATS JetStream store and queue, calls to `tfaas worker` processes over NATS. */
async function distributedBackends(config: PlatformConfig, nats: NonNullable<PlatformConfig["nats"]>): Promise<Backends> {
  const backends = await openDistributedBackends({
    url: nats.url,
    replicas: nats.replicas,
    secretKeyFile: config.secretsKeyFile ?? path.join(config.dataDir, "secrets.key"),
    maxDepth: config.async.maxDepth,
    ackWaitMs: nats.ackWaitMs,
  });
  return {
    ...backends,
    follow: (gateway) =>
      followCluster({ connection: backends.connection, prefix: backends.prefix, registry: gateway.registry, queue: backends.queue, dispatcher: gateway.asyncDispatcher }),
  };
}

export interface UpOptions {
  port?: number | undefined;
  host?: string | undefined;
  dataDir?: string | undefined;
  workers?: number | undefined;
  tee?: string | undefined;
  receipts?: string | undefined;
  /** NATS URL: distributed mode (stands in for TFAAS_NATS_URL). */
  nats?: string | undefined;
}

export async function up(options: UpOptions): Promise<void> {
  const overrides: ConfigOverrides = { port: options.port, host: options.host, dataDir: options.dataDir, workers: options.workers };
  // --tee and --receipts stand in for TFAAS_TEE and TFAAS_RECEIPTS; the schema checks them.
  const env = { ...process.env, ...(options.tee !== undefined ? { TFAAS_TEE: options.tee } : {}), ...(options.receipts !== undefined ? { TFAAS_RECEIPTS: options.receipts } : {}), ...(options.nats !== undefined ? { TFAAS_NATS_URL: options.nats } : {}) };
  const config = loadConfig(overrides, env);
  const platform = await startPlatform(config);
  const out = process.stdout;
  out.write(`TFaaS gateway: ${platform.url}\n`);
  out.write(`Data directory: ${config.dataDir}\n`);
  out.write(`Admin user: ${platform.adminUser}\n`);
  out.write(
    platform.passwordFile
      ? `Admin password: kept in ${platform.passwordFile} (mode 0600)\n`
      : "Admin password: from TFAAS_ADMIN_PASSWORD\n",
  );
  out.write(config.nats === undefined ? `Workers: ${config.workers}\n` : `Workers: tfaas worker processes on NATS at ${redactNatsUrl(config.nats.url)}\n`);
  out.write(`TEE: ${config.attestation.tee}; receipts: ${config.attestation.receipts}\n`);
  if (config.attestation.tee === "sim") out.write(`WARNING: ${SIM_WARNING}\n`);
  out.write(`ready: ${platform.url}\n`);
  stopOnSignals(() => platform.close(), { stopping: "stopping", failed: "cannot stop cleanly" });
}
