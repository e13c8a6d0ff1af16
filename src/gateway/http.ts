/**
 * Small HTTP plumbing on node:http: a table router that knows 404 from 405, bounded body
 * reading, JSON parsing at the edge, and error responses carrying the stable error code.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { Headers } from "../shared/constants.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";

export interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The route pattern's capture groups. */
  params: ReadonlyArray<string | undefined>;
}

export type Handler = (ctx: Context) => Promise<void> | void;

export interface Route {
  pattern: RegExp;
  /** Whether the route sits behind basic auth. */
  auth: boolean;
  /** Handlers by method; "*" answers any method. */
  methods: Partial<Record<string, Handler>>;
}

export function findRoute(routes: readonly Route[], pathname: string): { route: Route; params: Array<string | undefined> } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(pathname);
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}

export function methodNotAllowed(route: Route, method: string): TfaasError {
  return new TfaasError("method-not-allowed", `Cannot ${method} this path: allowed methods are ${Object.keys(route.methods).join(", ")}`);
}

/** Reads the whole body, failing with `payload-too-large` as soon as it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function tooLarge(limit: number): TfaasError {
  return new TfaasError("payload-too-large", `Cannot accept request: body exceeds the limit of ${limit} bytes`);
}

/** Parses a JSON body against a schema; every problem is a 400 naming the field. */
export async function readJson<T>(req: IncomingMessage, limit: number, schema: z.ZodType<T>, action: string): Promise<T> {
  const raw = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    throw new TfaasError("invalid-request", `Cannot ${action}: body is not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
      .join("; ");
    throw new TfaasError("invalid-request", `Cannot ${action}: ${problems}`);
  }
  return parsed.data;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Errors are plain text (as OpenFaaS answers) with the stable code in `X-Tfaas-Error`. */
export function sendError(res: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const failure = asTfaasError(error);
  if (failure.code === "internal") log.error("internal error", { error: failure.cause ?? failure });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendText(res, failure.status, failure.message + "\n", { [Headers.error]: failure.code, ...headers });
}
