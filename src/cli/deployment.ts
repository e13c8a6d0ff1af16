/**
 * From what the user wrote (a stack file entry, or faas-cli-style flags) to the FunctionDeployment
 * the gateway receives. Pure functions: files are read and artifacts uploaded by the deploy command.
 */
import { extname } from "node:path";
import { functionDeploymentSchema } from "../shared/function.js";
import type { FunctionDeployment } from "../shared/function.js";
import { TfaasError } from "../shared/errors.js";
import type { ArtifactContentType } from "./client.js";
import type { StackFunction } from "./stack.js";

/** The deploy command's per-function flags; repeatable ones as given, in order. */
export interface DeployFlags {
  name?: string;
  image?: string;
  namespace?: string;
  env?: string[];
  label?: string[];
  annotation?: string[];
  secret?: string[];
  memoryLimit?: string;
}

/** `key=value` flags to a map; the value may itself contain `=`, later flags win. */
export function parseKeyValues(values: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const equals = value.indexOf("=");
    if (equals <= 0) throw new TfaasError("invalid-request", `Cannot read ${flag}: current value is ${JSON.stringify(value)}; expected key=value`);
    out[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return out;
}

/** A function described by flags alone (`tfaas deploy --name hello --image hello.wasm`). */
export function functionFromFlags(flags: DeployFlags): StackFunction {
  if (flags.name === undefined || flags.image === undefined) {
    const missing = flags.name === undefined ? "--name" : "--image";
    throw new TfaasError("invalid-request", `Cannot deploy from flags: ${missing} is missing; give both --name and --image, or a stack file with -f`);
  }
  const empty: StackFunction = { name: flags.name, image: flags.image, environment: {}, environmentFiles: [], secrets: [], labels: {}, annotations: {} };
  return withFlagOverrides(empty, flags);
}

/** Flags layered over a stack entry, as faas-cli does: maps merge (flags win), secrets add up. */
export function withFlagOverrides(fn: StackFunction, flags: DeployFlags): StackFunction {
  const out: StackFunction = {
    ...fn,
    environment: { ...fn.environment, ...parseKeyValues(flags.env ?? [], "--env") },
    labels: { ...fn.labels, ...parseKeyValues(flags.label ?? [], "--label") },
    annotations: { ...fn.annotations, ...parseKeyValues(flags.annotation ?? [], "--annotation") },
    secrets: [...new Set([...fn.secrets, ...(flags.secret ?? [])])],
  };
  if (flags.namespace !== undefined) out.namespace = flags.namespace;
  if (flags.memoryLimit !== undefined) out.limits = { ...fn.limits, memory: flags.memoryLimit };
  return out;
}

/** The deployment for a function whose code is already uploaded as `digest`; validated before it is sent. */
export function toFunctionDeployment(fn: StackFunction, digest: string): FunctionDeployment {
  const deployment: FunctionDeployment = {
    service: fn.name,
    image: digest,
    envVars: fn.environment,
    labels: fn.labels,
    annotations: fn.annotations,
    secrets: fn.secrets,
  };
  if (fn.namespace !== undefined) deployment.namespace = fn.namespace;
  if (fn.limits !== undefined) deployment.limits = fn.limits;
  if (fn.requests !== undefined) deployment.requests = fn.requests;
  const checked = functionDeploymentSchema.safeParse(deployment);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const field = issue?.path.map(String).join(".") ?? "";
    throw new TfaasError("invalid-request", `Cannot deploy function ${fn.name}: ${field}: ${issue?.message ?? "invalid"}`, { cause: checked.error });
  }
  return deployment;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const CONTENT_TYPES: Record<string, ArtifactContentType> = {
  ".wasm": "application/wasm",
  ".js": "application/javascript",
  ".mjs": "application/javascript",
};

export type ImageSource = { kind: "digest"; digest: string } | { kind: "file"; path: string; contentType: ArtifactContentType };

/** What an `image` names: an uploaded artifact (`sha256:<hex>`) or a code file to upload. */
export function classifyImage(image: string, field: string): ImageSource {
  if (DIGEST.test(image)) return { kind: "digest", digest: image };
  const contentType = CONTENT_TYPES[extname(image).toLowerCase()];
  if (contentType !== undefined) return { kind: "file", path: image, contentType };
  throw new TfaasError(
    "invalid-request",
    `Cannot use ${field}: current value is ${JSON.stringify(image)}; expected sha256:<64 hex digits> or a path to a .wasm, .js or .mjs file`,
  );
}

/** The functions a `--filter` selects: exact names, or a pattern where `*` matches any run of characters. */
export function selectFunctions(functions: readonly StackFunction[], filter: string | undefined, stackPath: string): StackFunction[] {
  if (filter === undefined) return [...functions];
  const pattern = new RegExp(`^${filter.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  const selected = functions.filter((fn) => pattern.test(fn.name));
  if (selected.length === 0) {
    const names = functions.map((fn) => fn.name).join(", ") || "none";
    throw new TfaasError("not-found", `Cannot apply --filter: current value is ${JSON.stringify(filter)}, which matches no function in ${stackPath} (functions: ${names})`);
  }
  return selected;
}
