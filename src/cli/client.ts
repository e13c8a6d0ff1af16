/**
 * The gateway's HTTP API as seen by the CLI: one method per route, typed results, and failures
 * as TfaasError whose message says what failed and why (the HTTP status included), ready to show.
 * Every /system/* request carries Basic auth when credentials are known; /function/* never does.
 */
import { z } from "zod";
import type { FunctionDeployment } from "../shared/function.js";
import { TfaasError, isErrorCode } from "../shared/errors.js";
import type { ErrorCode } from "../shared/errors.js";
import type { Credentials } from "./credentials.js";

const resources = z.looseObject({ memory: z.string().optional(), cpu: z.string().optional() });
const functionStatusSchema = z.looseObject({
  name: z.string(),
  image: z.string(),
  namespace: z.string().optional(),
  envProcess: z.string().optional(),
  envVars: z.record(z.string(), z.string()).optional(),
  secrets: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  limits: resources.optional(),
  requests: resources.optional(),
  invocationCount: z.number(),
  replicas: z.number(),
  availableReplicas: z.number(),
  createdAt: z.string().optional(),
});
export type FunctionInfo = z.infer<typeof functionStatusSchema>;

const artifactSchema = z.looseObject({ digest: z.string(), size: z.number(), kind: z.string() });
export type ArtifactInfo = z.infer<typeof artifactSchema>;

const secretSchema = z.looseObject({ name: z.string(), namespace: z.string().optional() });
export type SecretInfo = z.infer<typeof secretSchema>;

const versionSchema = z.looseObject({ release: z.string(), sha: z.string(), commit_message: z.string().optional() });
const gatewayInfoSchema = z.looseObject({
  provider: z.looseObject({ provider: z.string(), orchestration: z.string(), version: versionSchema }),
  version: versionSchema,
  arch: z.string(),
});
export type GatewayInfo = z.infer<typeof gatewayInfoSchema>;

const logEntrySchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  instance: z.string(),
  timestamp: z.string(),
  text: z.string(),
});
export type LogEntry = z.infer<typeof logEntrySchema>;

const usageTotalsSchema = z.looseObject({
  name: z.string(),
  namespace: z.string(),
  calls: z.number(),
  fuel: z.string(),
  memoryPeakBytes: z.number(),
  ioBytesIn: z.number(),
  ioBytesOut: z.number(),
  wallSeconds: z.number(),
});
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

export interface UsageQuery {
  name?: string;
  /** RFC 3339 or a duration ago, as the gateway reads it. */
  since?: string;
  until?: string;
}

/** The last: code sealed on this machine (src/artifacts/sealed.ts; `tfaas deploy --encrypt`). */
export type ArtifactContentType = "application/wasm" | "application/javascript" | "application/vnd.tfaas.sealed-artifact";

export interface LogsQuery {
  name: string;
  follow: boolean;
  tail?: number;
  /** RFC 3339. */
  since?: string;
}

export interface InvocationRequest {
  method: string;
  headers: Record<string, string>;
  query: Array<[string, string]>;
  body?: Uint8Array<ArrayBuffer>;
}

interface Call {
  /** What failed, for the message: "Cannot <action>: …". */
  action: string;
  method: string;
  path: string;
  body?: NonNullable<RequestInit["body"]>;
  contentType?: string;
  /** Statuses that are not failures for this route. */
  accept?: number[];
}

export class GatewayClient {
  readonly url: string;
  readonly #credentials: Credentials | undefined;

  constructor(url: string, credentials?: Credentials) {
    this.url = url;
    this.#credentials = credentials;
  }

  async listFunctions(): Promise<FunctionInfo[]> {
    const response = await this.#send({ action: "list functions", method: "GET", path: "/system/functions" });
    return this.#json(response, z.array(functionStatusSchema), "list functions");
  }

  async getFunction(name: string): Promise<FunctionInfo> {
    const action = `describe function ${name}`;
    const response = await this.#send({ action, method: "GET", path: `/system/function/${encodeURIComponent(name)}` });
    return this.#json(response, functionStatusSchema, action);
  }

  /** Updates the function, or creates it when the gateway does not know it yet (PUT answers 404). */
  async deployFunction(deployment: FunctionDeployment): Promise<"updated" | "created"> {
    const action = `deploy function ${deployment.service}`;
    const body = JSON.stringify(deployment);
    const update = await this.#send({ action, method: "PUT", path: "/system/functions", body, contentType: "application/json", accept: [404] });
    if (update.status !== 404) {
      await update.body?.cancel();
      return "updated";
    }
    await update.body?.cancel();
    const create = await this.#send({ action, method: "POST", path: "/system/functions", body, contentType: "application/json" });
    await create.body?.cancel();
    return "created";
  }

  async removeFunction(name: string): Promise<void> {
    const body = JSON.stringify({ functionName: name });
    const response = await this.#send({ action: `remove function ${name}`, method: "DELETE", path: "/system/functions", body, contentType: "application/json" });
    await response.body?.cancel();
  }

  async uploadArtifact(bytes: Uint8Array<ArrayBuffer>, contentType: ArtifactContentType): Promise<ArtifactInfo> {
    const action = "upload the artifact";
    const response = await this.#send({ action, method: "POST", path: "/system/artifacts", body: bytes, contentType });
    return this.#json(response, artifactSchema, action);
  }

  /** Calls a function; the caller streams the successful response's body. */
  async invoke(name: string, request: InvocationRequest): Promise<Response> {
    const query = new URLSearchParams(request.query).toString();
    const path = `/function/${encodeURIComponent(name)}${query === "" ? "" : `?${query}`}`;
    const headers = new Headers(request.headers);
    const action = `invoke function ${name}`;
    const init: RequestInit = { method: request.method, headers };
    if (request.body !== undefined) init.body = request.body;
    const response = await this.#fetch(action, path, init);
    if (!response.ok) throw await this.#failure(action, response);
    return response;
  }

  /** Log entries as the gateway streams them (NDJSON); with `follow`, until the caller stops iterating. */
  async *logs(query: LogsQuery): AsyncGenerator<LogEntry> {
    const params = new URLSearchParams({ name: query.name, follow: String(query.follow) });
    if (query.tail !== undefined) params.set("tail", String(query.tail));
    if (query.since !== undefined) params.set("since", query.since);
    const action = `read the logs of ${query.name}`;
    const response = await this.#send({ action, method: "GET", path: `/system/logs?${params.toString()}` });
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of bodyChunks(response)) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") yield parseLogLine(line, action);
    }
    pending += decoder.decode();
    if (pending.trim() !== "") yield parseLogLine(pending, action);
  }

  async listSecrets(): Promise<SecretInfo[]> {
    const response = await this.#send({ action: "list secrets", method: "GET", path: "/system/secrets" });
    return this.#json(response, z.array(secretSchema), "list secrets");
  }

  async createSecret(name: string, value: string): Promise<void> {
    await this.#secretCall(`create secret ${name}`, "POST", { name, value });
  }

  async updateSecret(name: string, value: string): Promise<void> {
    await this.#secretCall(`update secret ${name}`, "PUT", { name, value });
  }

  async removeSecret(name: string): Promise<void> {
    await this.#secretCall(`remove secret ${name}`, "DELETE", { name });
  }

  async usage(query: UsageQuery): Promise<UsageTotals[]> {
    const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const action = "read usage";
    const response = await this.#send({ action, method: "GET", path: `/system/usage?${params.toString()}` });
    return this.#json(response, z.array(usageTotalsSchema), action);
  }

  async info(): Promise<GatewayInfo> {
    const action = "read the gateway's version";
    const response = await this.#send({ action, method: "GET", path: "/system/info" });
    return this.#json(response, gatewayInfoSchema, action);
  }

  async #secretCall(action: string, method: string, payload: { name: string; value?: string }): Promise<void> {
    const response = await this.#send({ action, method, path: "/system/secrets", body: JSON.stringify(payload), contentType: "application/json" });
    await response.body?.cancel();
  }

  async #send(call: Call): Promise<Response> {
    const headers = new Headers();
    if (call.contentType !== undefined) headers.set("content-type", call.contentType);
    if (this.#credentials !== undefined) {
      const token = Buffer.from(`${this.#credentials.user}:${this.#credentials.password}`).toString("base64");
      headers.set("authorization", `Basic ${token}`);
    }
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) init.body = call.body;
    const response = await this.#fetch(call.action, call.path, init);
    if (response.ok || call.accept?.includes(response.status) === true) return response;
    throw await this.#failure(call.action, response);
  }

  async #fetch(action: string, path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, init);
    } catch (cause) {
      throw new TfaasError("unavailable", `Cannot ${action}: the gateway at ${this.url} is unreachable (${networkReason(cause)})`, { cause });
    }
  }

  async #json<T>(response: Response, schema: z.ZodType<T>, action: string): Promise<T> {
    let json: unknown;
    try {
      json = await response.json();
    } catch (cause) {
      throw new TfaasError("internal", `Cannot ${action}: the gateway at ${this.url} answered ${response.status} with a body that is not JSON`, { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
      throw new TfaasError("internal", `Cannot ${action}: the gateway at ${this.url} answered with an unexpected shape${where}`, { cause: parsed.error });
    }
    return parsed.data;
  }

  async #failure(action: string, response: Response): Promise<TfaasError> {
    const detail = await errorDetail(response);
    if (response.status === 401) {
      const hint = this.#credentials === undefined ? "no credentials given" : `credentials for user ${this.#credentials.user} rejected`;
      return new TfaasError("unauthorized", `Cannot ${action}: the gateway at ${this.url} answered 401 (${hint}); run \`tfaas login\``);
    }
    const code = detail.code ?? codeForStatus(response.status);
    const reason = detail.message === "" ? "" : `: ${detail.message}`;
    return new TfaasError(code, `Cannot ${action}: the gateway answered ${response.status} ${response.statusText}`.trimEnd() + reason);
  }
}

/** A response body chunk by chunk; stopping early (e.g. Ctrl-C while following logs) cancels the request. */
export async function* bodyChunks(response: Response): AsyncGenerator<Uint8Array> {
  if (response.body === null) return;
  const reader = response.body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function parseLogLine(line: string, action: string): LogEntry {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (cause) {
    throw new TfaasError("internal", `Cannot ${action}: the gateway sent a line that is not JSON`, { cause });
  }
  const parsed = logEntrySchema.safeParse(json);
  if (!parsed.success) throw new TfaasError("internal", `Cannot ${action}: the gateway sent a log entry of unexpected shape`, { cause: parsed.error });
  return parsed.data;
}

const MAX_DETAIL_CHARS = 500;

/** The gateway's explanation, from a TfaasError JSON body ({code, message}) or plain text, on one line. */
async function errorDetail(response: Response): Promise<{ code?: ErrorCode; message: string }> {
  const text = await response.text().catch(() => "");
  let message = text;
  let code: ErrorCode | undefined;
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === "object" && json !== null && "message" in json && typeof json.message === "string") {
      message = json.message;
      if ("code" in json && typeof json.code === "string" && isErrorCode(json.code)) code = json.code;
    }
  } catch {
    // Plain text, as OpenFaaS gateways answer.
  }
  message = message.replace(/\s+/g, " ").trim();
  if (message.length > MAX_DETAIL_CHARS) message = `${message.slice(0, MAX_DETAIL_CHARS)}…`;
  return code === undefined ? { message } : { code, message };
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return "invalid-request";
    case 401: return "unauthorized";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "conflict";
    case 413: return "payload-too-large";
    case 415: return "unsupported-media-type";
    case 429: return "too-many-requests";
    case 502: return "worker-crashed";
    case 503: return "unavailable";
    case 504: return "timeout";
    default: return status >= 500 ? "internal" : "invalid-request";
  }
}

/** Why fetch failed, from the network error undici keeps in `cause` (e.g. ECONNREFUSED). */
function networkReason(error: unknown): string {
  let cause: unknown = error instanceof Error && error.cause !== undefined ? error.cause : error;
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  if (typeof cause === "object" && cause !== null) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (cause instanceof Error) return cause.message;
  }
  return String(cause);
}
