/**
 * The function registry: deploys, updates, scales and removes functions, keeping the store (the
 * truth), an in-memory view for the hot path, and the worker placements in step.
 */
import { isDigest } from "../artifacts/index.js";
import type { ResponseAbi } from "../sandbox/index.js";
import { ENGINE_ANNOTATION, parseJsEngine, type JsEngine } from "../sandbox/js/index.js";
import { Annotations, DEFAULT_NAMESPACE, WatchdogEnv } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import type { FunctionDeployment, FunctionRecord, FunctionStatus } from "../shared/function.js";
import { qualifiedName } from "../shared/function.js";
import { log } from "../shared/log.js";
import { parseDurationMs, parseQuantityBytes } from "../shared/units.js";
import type { Store } from "../store/index.js";
import type { Dispatch } from "../worker/dispatch.js";
import type { FunctionSpec } from "../worker/protocol.js";
import { confidentialSetting } from "./confidential-route.js";
import type { FunctionLogs } from "./logs.js";

/** What the hot path needs, derived once per revision. */
export interface FunctionSettings {
  execTimeoutMs: number;
  maxInflight: number | undefined;
  memoryLimitBytes: number | undefined;
  abi: ResponseAbi;
  contentType: string | undefined;
  scaleMin: number | undefined;
  scaleMax: number | undefined;
  fuelLimit: bigint;
  /** The engine for JavaScript code (annotation com.tfaas.engine); unused by wasm functions. */
  jsEngine: JsEngine;
  /** Annotation com.tfaas.confidential: only encrypted (Oblivious HTTP) calls are accepted. */
  confidential: boolean;
}

export interface LiveFunction {
  id: string;
  record: FunctionRecord;
  settings: FunctionSettings;
  inflight: number;
  invocations: number;
}

export interface RegistryOptions {
  store: Store;
  dispatch: Dispatch;
  /** The function logs' writer: removal goes through it so buffered lines are not stored after. */
  logs: Pick<FunctionLogs, "removeFunction">;
  defaultExecTimeoutMs: number;
  defaultFuelLimit: bigint;
  maxOutputBytes: number;
  onReplicas?: (id: string, replicas: number) => void;
}

function positiveInt(text: string | undefined, what: string, service: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new TfaasError("invalid-request", `Cannot deploy ${service}: ${what} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Validates the settings a deployment carries in envVars, labels and annotations. */
export function settingsOf(deployment: FunctionDeployment, defaults: { execTimeoutMs: number; fuelLimit: bigint }): FunctionSettings {
  const service = deployment.service;
  const env = deployment.envVars ?? {};
  const meta = { ...deployment.annotations, ...deployment.labels };
  let execTimeoutMs = defaults.execTimeoutMs;
  const timeout = env[WatchdogEnv.execTimeout];
  if (timeout !== undefined) {
    const parsed = parseDurationMs(timeout);
    if (parsed === undefined || parsed <= 0) {
      throw new TfaasError("invalid-request", `Cannot deploy ${service}: exec_timeout must be a duration like 30s, got ${JSON.stringify(timeout)}`);
    }
    execTimeoutMs = parsed;
  }
  let memoryLimitBytes: number | undefined;
  const memory = deployment.limits?.memory;
  if (memory !== undefined) {
    memoryLimitBytes = parseQuantityBytes(memory);
    if (memoryLimitBytes === undefined || memoryLimitBytes <= 0) {
      throw new TfaasError("invalid-request", `Cannot deploy ${service}: limits.memory must be a quantity like 128Mi, got ${JSON.stringify(memory)}`);
    }
  }
  const abi = deployment.annotations?.[Annotations.abi] ?? "stdio";
  if (abi !== "stdio" && abi !== "wagi") {
    throw new TfaasError("invalid-request", `Cannot deploy ${service}: annotation ${Annotations.abi} must be stdio or wagi, got ${JSON.stringify(abi)}`);
  }
  const scaleMin = positiveInt(meta[Annotations.scaleMin], Annotations.scaleMin, service);
  const scaleMax = positiveInt(meta[Annotations.scaleMax], Annotations.scaleMax, service);
  if (scaleMin !== undefined && scaleMax !== undefined && scaleMin > scaleMax) {
    throw new TfaasError("invalid-request", `Cannot deploy ${service}: ${Annotations.scaleMin} (${scaleMin}) exceeds ${Annotations.scaleMax} (${scaleMax})`);
  }
  const maxInflight = positiveInt(env[WatchdogEnv.maxInflight], WatchdogEnv.maxInflight, service);
  let fuelLimit = defaults.fuelLimit;
  const fuel = deployment.annotations?.[Annotations.fuelLimit];
  if (fuel !== undefined) {
    if (!/^[1-9][0-9]{0,18}$/.test(fuel) || BigInt(fuel) >= 1n << 63n) {
      throw new TfaasError("invalid-request", `Cannot deploy ${service}: annotation ${Annotations.fuelLimit} must be a whole number from 1 to 2^63-1, got ${JSON.stringify(fuel)}`);
    }
    fuelLimit = BigInt(fuel);
  }
  const jsEngine = parseJsEngine(deployment.annotations?.[ENGINE_ANNOTATION], service);
  return {
    execTimeoutMs,
    maxInflight: maxInflight === 0 ? undefined : maxInflight,
    memoryLimitBytes,
    abi,
    contentType: env.content_type,
    scaleMin,
    scaleMax,
    fuelLimit,
    jsEngine,
    confidential: confidentialSetting(deployment),
  };
}

export class FunctionRegistry {
  private readonly live = new Map<string, LiveFunction>();
  /** Bumped when any secret changes, so workers reload functions with fresh values. */
  private secretsEpoch = 0;

  private readonly defaults: { execTimeoutMs: number; fuelLimit: bigint };

  constructor(private readonly options: RegistryOptions) {
    this.defaults = { execTimeoutMs: options.defaultExecTimeoutMs, fuelLimit: options.defaultFuelLimit };
  }

  /** Loads every stored function and places it on the workers (after a restart). */
  async restore(): Promise<void> {
    for (const record of await this.options.store.functions.list(DEFAULT_NAMESPACE)) {
      try {
        const settings = settingsOf(record.deployment, this.defaults);
        const fn: LiveFunction = { id: qualifiedName(record.name, record.namespace), record, settings, inflight: 0, invocations: 0 };
        this.live.set(fn.id, fn);
        await this.place(fn);
      } catch (error) {
        log.error("cannot restore function", { function: record.name, error });
      }
    }
  }

  /**
   * Brings memory in line with the store after another gateway changed it (distributed mode):
   * new or newer records are placed, vanished ones removed. A record older than what this gateway
   * holds (a list read before its own write) is ignored; the next refresh sees the write.
   */
  async refresh(): Promise<void> {
    const seen = new Set<string>();
    for (const record of await this.options.store.functions.list(DEFAULT_NAMESPACE)) {
      const id = qualifiedName(record.name, record.namespace);
      seen.add(id);
      const current = this.live.get(id);
      if (current && (record.revision < current.record.revision || (record.revision === current.record.revision && record.replicas === current.record.replicas))) continue;
      try {
        const settings = settingsOf(record.deployment, this.defaults);
        const fn: LiveFunction = { id, record, settings, inflight: current?.inflight ?? 0, invocations: current?.invocations ?? 0 };
        // Placed first: a function this gateway cannot place (NATS briefly unavailable) stays as it was, for the next refresh.
        await this.place(fn);
        this.live.set(id, fn);
      } catch (error) {
        log.error("cannot refresh function", { function: record.name, error });
      }
    }
    for (const id of this.live.keys()) {
      if (seen.has(id)) continue;
      this.live.delete(id);
      this.options.dispatch.remove(id);
      this.options.onReplicas?.(id, 0);
    }
  }

  get(name: string, namespace: string = DEFAULT_NAMESPACE): LiveFunction | undefined {
    return this.live.get(qualifiedName(name, namespace));
  }

  require(name: string, namespace: string = DEFAULT_NAMESPACE): LiveFunction {
    const fn = this.get(name, namespace);
    if (!fn) throw new TfaasError("function-not-found", `Cannot find function ${name} in namespace ${namespace}`);
    return fn;
  }

  list(): LiveFunction[] {
    return [...this.live.values()];
  }

  async deploy(deployment: FunctionDeployment, mode: "create" | "update"): Promise<LiveFunction> {
    const namespace = checkNamespace(deployment.namespace);
    const id = qualifiedName(deployment.service, namespace);
    const existing = this.live.get(id);
    if (mode === "update" && !existing) {
      throw new TfaasError("function-not-found", `Cannot update function ${deployment.service}: it does not exist`);
    }
    if (mode === "create" && existing) {
      throw new TfaasError("conflict", `Cannot deploy function ${deployment.service}: it exists; update it with PUT`);
    }
    const settings = settingsOf(deployment, this.defaults);
    await this.checkReferences(deployment, namespace);
    const record: FunctionRecord = {
      name: deployment.service,
      namespace,
      deployment,
      createdAt: existing?.record.createdAt ?? new Date().toISOString(),
      replicas: clampReplicas(existing?.record.replicas ?? settings.scaleMin ?? 1, settings),
      revision: (existing?.record.revision ?? 0) + 1,
    };
    if (existing) await this.options.store.functions.update(record);
    else await this.options.store.functions.create(record);
    const fn: LiveFunction = { id, record, settings, inflight: existing?.inflight ?? 0, invocations: existing?.invocations ?? 0 };
    // Placed before it is served: a failed placement leaves the stored record to the next restore or refresh.
    await this.place(fn);
    this.live.set(id, fn);
    return fn;
  }

  async remove(name: string, namespace: string = DEFAULT_NAMESPACE): Promise<void> {
    const fn = this.require(name, namespace);
    await this.options.store.functions.remove(name, namespace);
    await this.options.logs.removeFunction(name, namespace);
    this.live.delete(fn.id);
    this.options.dispatch.remove(fn.id);
    this.options.onReplicas?.(fn.id, 0);
  }

  /** Sets desired replicas, within the function's scale bounds. Returns the replicas now desired. */
  async scale(fn: LiveFunction, replicas: number): Promise<number> {
    const record = { ...fn.record, replicas: clampReplicas(replicas, fn.settings) };
    await this.options.store.functions.update(record);
    fn.record = record;
    await this.place(fn);
    return record.replicas;
  }

  /** Called when secrets change: every function reloads with current values. */
  async secretsChanged(): Promise<void> {
    this.secretsEpoch++;
    for (const fn of this.live.values()) {
      if (fn.record.deployment.secrets?.length) await this.place(fn);
    }
  }

  status(fn: LiveFunction): FunctionStatus {
    const { deployment, name, namespace, createdAt, replicas } = fn.record;
    const { service: _service, namespace: _namespace, ...fields } = deployment;
    return {
      ...fields,
      name,
      namespace,
      labels: { ...deployment.labels, faas_function: name },
      invocationCount: fn.invocations,
      replicas,
      availableReplicas: this.options.dispatch.availableReplicas(fn.id),
      createdAt,
    };
  }

  private async checkReferences(deployment: FunctionDeployment, namespace: string): Promise<void> {
    const { service, image } = deployment;
    if (!isDigest(image)) {
      throw new TfaasError(
        "invalid-request",
        `Cannot deploy ${service}: image must name an uploaded artifact as sha256:<64 hex>, got ${JSON.stringify(image)}; upload code with POST /system/artifacts`,
      );
    }
    if (!(await this.options.store.artifacts.stat(image))) {
      throw new TfaasError("invalid-request", `Cannot deploy ${service}: artifact ${image} was never uploaded`);
    }
    const wanted = deployment.secrets ?? [];
    if (wanted.length > 0) {
      const existing = new Set(await this.options.store.secrets.list(namespace));
      const missing = wanted.find((secret) => !existing.has(secret));
      if (missing !== undefined) throw new TfaasError("invalid-request", `Cannot deploy ${service}: secret ${missing} does not exist`);
    }
  }

  private async place(fn: LiveFunction): Promise<void> {
    const spec = await this.specOf(fn);
    this.options.dispatch.place(fn.id, spec, fn.record.replicas);
    this.options.onReplicas?.(fn.id, fn.record.replicas);
  }

  private async specOf(fn: LiveFunction): Promise<FunctionSpec> {
    const { store, maxOutputBytes } = this.options;
    const { deployment, namespace, revision } = fn.record;
    const available = new Set(await store.secrets.list(namespace));
    // A secret removed after deployment is simply absent from the function's view.
    const names = (deployment.secrets ?? []).filter((name) => available.has(name));
    const secrets = await store.secrets.values(names, namespace);
    const options = { abi: fn.settings.abi, ...(fn.settings.memoryLimitBytes ? { memoryLimitBytes: fn.settings.memoryLimitBytes } : {}) };
    const kind = (await store.artifacts.stat(deployment.image))?.kind ?? "wasm";
    return {
      key: `${fn.id}@${revision}.${this.secretsEpoch}`,
      name: deployment.service,
      digest: deployment.image,
      bytes: await store.artifacts.read(deployment.image),
      options,
      env: deployment.envVars ?? {},
      secrets: [...secrets],
      maxOutputBytes,
      fuelLimit: fn.settings.fuelLimit,
      kind,
      ...(kind === "javascript" ? { engine: fn.settings.jsEngine } : {}),
      execTimeoutMs: fn.settings.execTimeoutMs,
      ...(deployment.annotations?.[Annotations.keyBroker] !== undefined ? { keyBroker: deployment.annotations[Annotations.keyBroker] } : {}),
    };
  }
}

export function checkNamespace(namespace: string | undefined): string {
  if (namespace === undefined || namespace === "" || namespace === DEFAULT_NAMESPACE) return DEFAULT_NAMESPACE;
  throw new TfaasError("invalid-request", `Cannot use namespace ${JSON.stringify(namespace)}: the only namespace is ${DEFAULT_NAMESPACE}`);
}

function clampReplicas(replicas: number, settings: FunctionSettings): number {
  let value = replicas;
  if (settings.scaleMax !== undefined) value = Math.min(value, settings.scaleMax);
  if (settings.scaleMin !== undefined) value = Math.max(value, settings.scaleMin);
  return value;
}

