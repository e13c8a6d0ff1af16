/**
 * The distributed Store on NATS JetStream. With the default prefix `tfaas` it keeps:
 *
 * | what            | where                                   | notes                                         |
 * |-----------------|-----------------------------------------|-----------------------------------------------|
 * | functions       | KV `tfaas_functions`                    | `<ns>.<name>` → record JSON; CAS create/update |
 * | secrets         | KV `tfaas_secrets`                      | AES-256-GCM sealed before they leave TFaaS     |
 * | logs            | stream `tfaas_logs`, `tfaas.logs.>`     | `max_msgs_per_subject` bounds each function    |
 * | artifacts       | Object Store `tfaas_artifacts` + KV `tfaas_artifact_meta` | digest-verified on read      |
 * | usage           | stream `tfaas_usage`, `tfaas.usage.>` + KV `tfaas_usage_calls` (call id → seq) |    |
 *
 * Every bucket and stream has `replicas` copies (1 on a single server, 3 on a cluster) and file
 * storage. Buckets and streams are created on first open, so the NATS account needs JetStream.
 *
 * The secrets key lives with TFaaS, never in NATS: `secretKeyFile` names a file of exactly 32
 * random bytes that only its owner may read (mode 0600 or 0400). In Kubernetes it is a Secret
 * mounted into every gateway (and only gateways) with `defaultMode: 0400`. It is never created
 * here, since gateways that each made their own key could not read each other's secrets; make
 * it once (`head -c 32 /dev/urandom > secrets.key`). The store also keeps a key check in the
 * secrets bucket (a sealed constant) and refuses to open with a different key.
 *
 * Guarantee stops here: NATS operators see function records, logs, artifacts and usage in
 * clear; only secret values are sealed. Whoever holds the key file can read every secret.
 */
import { promises as fs } from "node:fs";
import { jetstream, jetstreamManager, StorageType, DiscardPolicy, RetentionPolicy } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { Defaults } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";
import type { Store } from "../index.js";
import { SecretCipher } from "../secret-cipher.js";
import { loadOrCreateSecretKey } from "../secret-key.js";
import { NatsArtifactStore } from "./artifacts.js";
import { connectNats, DEFAULT_REQUEST_TIMEOUT_MS, natsFailure, redactNatsUrl, type NatsConnection } from "./connection.js";
import { NatsFunctionStore } from "./functions.js";
import { Guard } from "./guard.js";
import { isWrongLastSequence, liveEntry } from "./kv-util.js";
import { NatsLogStore } from "./logs.js";
import { NatsSecretStore } from "./secrets.js";
import { ensureStream } from "./streams.js";
import { NatsUsageStore } from "./usage.js";

export { connectNats, redactNatsUrl, DEFAULT_REQUEST_TIMEOUT_MS, type ConnectNatsOptions, type NatsConnection } from "./connection.js";
export { natsFailure } from "./connection.js";
export { Guard } from "./guard.js";
export { token, untoken } from "./keys.js";
export { isWrongLastSequence, liveEntry } from "./kv-util.js";
export { ensureStream, readSubject, type ReadRange, type StoredMessage } from "./streams.js";

/** Where to reach NATS: a URL (the store connects, and closes on `close`) or a shared connection (left open). */
export type NatsTarget = { url: string; connection?: never } | { connection: NatsConnection; url?: never };

export type NatsStoreOptions = NatsTarget & {
  /** The 32-byte secrets key (see above). Required. */
  secretKeyFile: string;
  /** Copies of every bucket and stream: 1 (single server, default) or 3/5 (cluster). */
  replicas?: number;
  /** Names every bucket (`<prefix>_…`) and subject (`<prefix>.…`); default `tfaas`. */
  prefix?: string;
  /** Oldest entries beyond this many per function are dropped; default `Defaults.maxLogLinesPerFunction`. */
  maxLogEntriesPerFunction?: number;
  /** How long an operation may wait for NATS (also while reconnecting) before failing with `unavailable`; default 5,000 ms. */
  requestTimeoutMs?: number;
  /** How far a usage writer's clock may run ahead of the NATS server's (see usage.ts); default 300,000 ms. */
  maxClockSkewMs?: number;
  /** Connection name when connecting by URL; default `tfaas-store`. */
  name?: string;
};

const PREFIX = /^[a-z][a-z0-9_]{0,31}$/;
const KEY_CHECK = "_key_check";

export async function openNatsStore(options: NatsStoreOptions): Promise<Store> {
  const prefix = options.prefix ?? "tfaas";
  const replicas = options.replicas ?? 1;
  const maxLogEntries = options.maxLogEntriesPerFunction ?? Defaults.maxLogLinesPerFunction;
  if (!PREFIX.test(prefix)) throw invalid("prefix", JSON.stringify(prefix), "lower-case letters, digits and _ (up to 32), starting with a letter");
  if (![1, 3, 5].includes(replicas)) throw invalid("replicas", String(replicas), "1, 3 or 5");
  if (!Number.isSafeInteger(maxLogEntries) || maxLogEntries < 1) throw invalid("maxLogEntriesPerFunction", String(maxLogEntries), "a whole number ≥ 1");
  const cipher = new SecretCipher(await loadSecretKey(options.secretKeyFile));

  const owned = options.connection === undefined;
  const nc = options.connection ?? (await connectNats(options.url, { name: options.name ?? "tfaas-store" }));
  const server = redactNatsUrl(options.url ?? nc.getServer());
  try {
    const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const js = jetstream(nc, { timeout });
    const jsm = await jetstreamManager(nc, { timeout });
    const kvm = new Kvm(js);
    const bucket = { replicas, history: 1, storage: StorageType.File };
    const [functions, secrets, artifactMeta, usageCalls, objects] = await Promise.all([
      kvm.create(`${prefix}_functions`, bucket),
      kvm.create(`${prefix}_secrets`, bucket),
      kvm.create(`${prefix}_artifact_meta`, bucket),
      kvm.create(`${prefix}_usage_calls`, bucket),
      new Objm(js).create(`${prefix}_artifacts`, { replicas, storage: StorageType.File }),
    ]);
    const stream = { storage: StorageType.File, num_replicas: replicas, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old };
    await ensureStream(jsm, { ...stream, name: `${prefix}_logs`, subjects: [`${prefix}.logs.>`], max_msgs_per_subject: maxLogEntries });
    await ensureStream(jsm, { ...stream, name: `${prefix}_usage`, subjects: [`${prefix}.usage.>`] });

    // Refuse a key other than the one this cluster's secrets are sealed under, before anything is written with it.
    const check = liveEntry(await secrets.get(KEY_CHECK));
    if (check === undefined) {
      const { nonce, sealed } = cipher.seal("", KEY_CHECK, new Uint8Array(0));
      await secrets.create(KEY_CHECK, Buffer.concat([nonce, sealed])).catch((error: unknown) => {
        if (!isWrongLastSequence(error)) throw error;
      });
    } else {
      try {
        const bytes = Buffer.from(check.value);
        cipher.open("", KEY_CHECK, { nonce: bytes.subarray(0, 12), sealed: bytes.subarray(12) });
      } catch (cause) {
        throw new TfaasError(
          "internal",
          `Cannot open store: current secrets key ${options.secretKeyFile} is not the key the secrets in ${prefix}_secrets are sealed under`,
          { cause },
        );
      }
    }

    const guard = new Guard("store", server);
    return {
      functions: new NatsFunctionStore(functions, guard),
      secrets: new NatsSecretStore(secrets, cipher, guard),
      logs: new NatsLogStore(js, jsm, `${prefix}_logs`, prefix, guard),
      artifacts: new NatsArtifactStore(objects, artifactMeta, guard),
      usage: new NatsUsageStore({
        js,
        jsm,
        stream: `${prefix}_usage`,
        subjectPrefix: prefix,
        byCall: usageCalls,
        maxClockSkewMs: options.maxClockSkewMs ?? 300_000,
        guard,
      }),
      close: () => guard.close(async () => (owned ? nc.close() : undefined)),
    };
  } catch (error) {
    if (owned) await nc.close().catch(() => undefined);
    throw natsFailure("open the NATS store", server, error);
  }
}

/** Reads the key file; unlike embedded mode it never creates one (see above). */
async function loadSecretKey(path: string): Promise<Buffer> {
  try {
    await fs.access(path);
  } catch (cause) {
    throw new TfaasError(
      "internal",
      `Cannot use secrets key ${path}: current state is missing or unreadable; every gateway needs the same 32-byte key file (mode 0600)`,
      { cause },
    );
  }
  return loadOrCreateSecretKey(path);
}

function invalid(option: string, value: string, expected: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot open NATS store: current ${option} is ${value}, expected ${expected}`);
}
