/**
 * faas-cli's stack file (version 1.0): which functions to build and deploy, and how. Scalars are
 * read with YAML's failsafe schema, so every value stays the text that was written: an unquoted
 * `1`, `true` or `1.50` in environment, labels or annotations arrives as "1", "true", "1.50".
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from "yaml";
import type { Document } from "yaml";
import { z } from "zod";
import { nameSchema } from "../shared/function.js";
import { TfaasError } from "../shared/errors.js";

/**
 * Under the failsafe schema an empty value (or YAML's null spellings) is a string; where a
 * collection is expected, read it as "not given", as faas-cli does for `labels:` with nothing after it.
 */
const absent = (value: unknown): unknown => (typeof value === "string" && /^(|~|null|Null|NULL)$/.test(value) ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(absent, schema.optional());

const notAMap = (what: string) => (issue: { code: string }) => (issue.code === "invalid_type" ? `expected a map of ${what}` : undefined);
const stringMap = z.record(z.string(), z.string(), { error: notAMap("strings") });
const resources = z.object({ memory: z.string().optional(), cpu: z.string().optional() });

const functionSchema = z.object({
  lang: z.string().min(1).optional(),
  handler: z.string().min(1).optional(),
  image: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  environment: optional(stringMap),
  environment_file: optional(z.array(z.string().min(1))),
  secrets: optional(z.array(nameSchema)),
  labels: optional(stringMap),
  annotations: optional(stringMap),
  limits: optional(resources),
  requests: optional(resources),
});

const stackSchema = z.object({
  version: z.literal("1.0", { error: 'must be "1.0"' }).optional(),
  provider: optional(z.object({ name: z.string().optional(), gateway: z.string().optional() })),
  functions: z.record(nameSchema, functionSchema, { error: notAMap("function names to their settings") }),
});

export interface StackFunction {
  name: string;
  lang?: string;
  /** Relative to the stack file's directory, as faas-cli reads it. */
  handler?: string;
  /** A `sha256:<hex>` digest or a path to a `.wasm`/`.js` file relative to the stack file's directory. */
  image?: string;
  namespace?: string;
  /**
   * The inline `environment`; after `loadStack`, merged over the entries of `environmentFiles`
   * (inline wins on conflicts, as in faas-cli).
   */
  environment: Record<string, string>;
  /** `environment_file`: YAML files with an `environment:` map, relative to the stack file's directory. */
  environmentFiles: string[];
  secrets: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
}

export interface Stack {
  /** The file it was read from, for messages. */
  path: string;
  /** Where relative paths in the file start from. */
  dir: string;
  gateway?: string;
  functions: StackFunction[];
}

/** Reads and validates a stack file, and merges in the environment files it names. */
export async function loadStack(path: string): Promise<Stack> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (cause as Error).message;
    throw new TfaasError("invalid-request", `Cannot read stack file ${path}: ${reason}`, { cause });
  }
  const stack = parseStack(text, path);
  for (const fn of stack.functions) {
    const fromFiles: Record<string, string> = {};
    for (const file of fn.environmentFiles) {
      Object.assign(fromFiles, await loadEnvironmentFile(resolve(stack.dir, file), file, `functions.${fn.name}.environment_file`));
    }
    fn.environment = { ...fromFiles, ...fn.environment };
  }
  return stack;
}

/** Parses and validates stack file text (environment files stay unread); `path` names the file in messages and anchors relative paths. */
export function parseStack(text: string, path: string): Stack {
  const lines = new LineCounter();
  const document = parseDocument(text, { schema: "failsafe", merge: true, lineCounter: lines });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    throw new TfaasError("invalid-request", `Cannot read stack file ${path}: ${firstLine(yamlError.message)}`, { cause: yamlError });
  }
  const result = stackSchema.safeParse(document.toJS() ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.map(String).join(".");
      const offset = sourceOffset(document, issue.path);
      const line = offset === undefined ? "" : ` (line ${lines.linePos(offset).line})`;
      // A bad map key is reported as "Invalid key in record"; the nested issue says what is wrong with it.
      const message = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return `${field === "" ? "(top level)" : field}${line}: ${message}`;
    });
    throw new TfaasError("invalid-request", `Cannot read stack file ${path}: ${problems.join("; ")}`, { cause: result.error });
  }
  const functions = Object.entries(result.data.functions).map(([name, spec]): StackFunction => {
    const fn: StackFunction = {
      name,
      environment: spec.environment ?? {},
      environmentFiles: spec.environment_file ?? [],
      secrets: spec.secrets ?? [],
      labels: spec.labels ?? {},
      annotations: spec.annotations ?? {},
    };
    if (spec.lang !== undefined) fn.lang = spec.lang;
    if (spec.handler !== undefined) fn.handler = spec.handler;
    if (spec.image !== undefined) fn.image = spec.image;
    if (spec.namespace !== undefined) fn.namespace = spec.namespace;
    const limits = compactResources(spec.limits);
    if (limits !== undefined) fn.limits = limits;
    const requests = compactResources(spec.requests);
    if (requests !== undefined) fn.requests = requests;
    return fn;
  });
  const stack: Stack = { path, dir: dirname(resolve(path)), functions };
  const gateway = result.data.provider?.gateway;
  if (gateway !== undefined && gateway !== "") stack.gateway = gateway;
  return stack;
}

/** YAML's messages continue with a source excerpt on further lines; the first line already says where. */
function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/:$/, "");
}

/** Where a field starts in the source: its key for map entries, the item for list entries. */
function sourceOffset(document: Document, path: readonly PropertyKey[]): number | undefined {
  if (path.length === 0) return undefined;
  const parent = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
    return isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  }
  if (isSeq(parent) && typeof last === "number") {
    const item = parent.items[last] as { range?: [number, number, number] } | undefined;
    return item?.range?.[0];
  }
  return undefined;
}

function compactResources(value: { memory?: string | undefined; cpu?: string | undefined } | undefined): { memory?: string; cpu?: string } | undefined {
  if (value === undefined) return undefined;
  const out: { memory?: string; cpu?: string } = {};
  if (value.memory !== undefined) out.memory = value.memory;
  if (value.cpu !== undefined) out.cpu = value.cpu;
  return Object.keys(out).length === 0 ? undefined : out;
}

const environmentFileSchema = z.object({ environment: optional(stringMap) });

/** An environment file as faas-cli reads it: YAML with an `environment:` map. */
async function loadEnvironmentFile(absolute: string, shown: string, field: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (cause as Error).message;
    throw new TfaasError("invalid-request", `Cannot read ${field} ${shown}: ${reason}`, { cause });
  }
  const document = parseDocument(text, { schema: "failsafe" });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    throw new TfaasError("invalid-request", `Cannot read ${field} ${shown}: ${firstLine(yamlError.message)}`, { cause: yamlError });
  }
  const result = environmentFileSchema.safeParse(document.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TfaasError("invalid-request", `Cannot read ${field} ${shown}: ${issue?.path.map(String).join(".") ?? ""}: ${issue?.message ?? "invalid"}`, { cause: result.error });
  }
  return result.data.environment ?? {};
}
