/**
 * Asynchronous calls from the command line: `tfaas call status|wait|cancel <id>`, and the
 * enqueueing behind `tfaas invoke --async`. POST /async-function/* is open, like /function/*,
 * so it is sent without credentials; status and cancellation need them.
 */
import type { Command } from "commander";
import { z } from "zod";
import { TfaasError, isErrorCode, type ErrorCode } from "../../shared/errors.js";
import { parseDurationMs } from "../../shared/units.js";
import type { InvocationRequest } from "../client.js";
import { addGatewayOption, connect, type GatewayFlags } from "../connect.js";
import type { Credentials } from "../credentials.js";
import { resolveCredentials } from "../credentials.js";
import type { CliIo } from "../io.js";
import { writeChunk } from "../io.js";
import { formatFields, writeJson } from "../output.js";

const callStatusSchema = z.looseObject({
  callId: z.string(),
  function: z.string(),
  namespace: z.string().optional(),
  state: z.enum(["queued", "running", "succeeded", "failed", "cancelled"]),
  attempts: z.number(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  statusCode: z.number().optional(),
  durationSeconds: z.number().optional(),
  callback: z
    .looseObject({ url: z.string(), state: z.string(), attempts: z.number(), lastError: z.string().optional(), nextAttemptAt: z.string().optional() })
    .optional(),
  result: z.string().optional(),
  resultEncoding: z.enum(["utf8", "base64"]).optional(),
  contentType: z.string().optional(),
});
export type CallStatus = z.infer<typeof callStatusSchema>;

/** The gateway's async routes, as the CLI uses them. */
export class AsyncCallsClient {
  constructor(
    readonly url: string,
    private readonly credentials: Credentials | undefined,
  ) {}

  /** Enqueues a call; answers its id. */
  async enqueue(name: string, request: InvocationRequest, callbackUrl?: string): Promise<string> {
    const query = new URLSearchParams(request.query).toString();
    const headers = new Headers(request.headers);
    if (callbackUrl !== undefined) headers.set("x-callback-url", callbackUrl);
    const init: RequestInit = { method: "POST", headers };
    if (request.body !== undefined) init.body = request.body;
    const action = `enqueue a call to ${name}`;
    const response = await this.#fetch(action, `/async-function/${encodeURIComponent(name)}${query === "" ? "" : `?${query}`}`, init, false);
    await response.body?.cancel();
    const callId = response.headers.get("x-call-id");
    if (callId === null) throw new TfaasError("internal", `Cannot ${action}: the gateway answered without an X-Call-Id`);
    return callId;
  }

  async status(callId: string): Promise<CallStatus> {
    const action = `read the status of call ${callId}`;
    const response = await this.#fetch(action, `/system/async/${encodeURIComponent(callId)}`, { method: "GET" }, true);
    const parsed = callStatusSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new TfaasError("internal", `Cannot ${action}: the gateway answered with an unexpected shape`, { cause: parsed.error });
    return parsed.data;
  }

  async cancel(callId: string): Promise<void> {
    const response = await this.#fetch(`cancel call ${callId}`, `/async-function/${encodeURIComponent(callId)}`, { method: "DELETE" }, true);
    await response.body?.cancel();
  }

  async #fetch(action: string, path: string, init: RequestInit, authenticate: boolean): Promise<Response> {
    const headers = new Headers(init.headers);
    if (authenticate && this.credentials !== undefined) {
      headers.set("authorization", `Basic ${Buffer.from(`${this.credentials.user}:${this.credentials.password}`).toString("base64")}`);
    }
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { ...init, headers });
    } catch (cause) {
      throw new TfaasError("unavailable", `Cannot ${action}: the gateway at ${this.url} is unreachable`, { cause });
    }
    if (response.ok) return response;
    const detail = (await response.text().catch(() => "")).replace(/\s+/g, " ").trim().slice(0, 500);
    if (response.status === 401) {
      const hint = this.credentials === undefined ? "no credentials given" : `credentials for user ${this.credentials.user} rejected`;
      throw new TfaasError("unauthorized", `Cannot ${action}: the gateway at ${this.url} answered 401 (${hint}); run \`tfaas login\``);
    }
    const sent = response.headers.get("x-tfaas-error") ?? "";
    const code: ErrorCode = isErrorCode(sent) ? sent : response.status >= 500 ? "internal" : "invalid-request";
    throw new TfaasError(code, `Cannot ${action}: the gateway answered ${response.status}${detail === "" ? "" : `: ${detail}`}`);
  }
}

export async function connectAsync(io: CliIo, flags: GatewayFlags): Promise<AsyncCallsClient> {
  const { url } = await connect(io, flags);
  return new AsyncCallsClient(url, await resolveCredentials(io.env, url));
}

interface StatusFlags extends GatewayFlags {
  json?: boolean;
}

interface WaitFlags extends GatewayFlags {
  timeout: string;
}

export function registerCall(program: Command, io: CliIo): void {
  const call = program.command("call").description("follow asynchronous calls (made with `tfaas invoke --async`)");
  addGatewayOption(
    call.command("status").description("show a call's state, attempts, timestamps and callback").argument("<id>", "call id").option("--json", "print JSON"),
  ).action(async (callId: string, flags: StatusFlags) => {
    const status = await (await connectAsync(io, flags)).status(callId);
    if (flags.json === true) return writeJson(io, status);
    io.stdout.write(describeStatus(status));
  });

  addGatewayOption(
    call
      .command("wait")
      .description("wait until a call finishes and write its result body to stdout; fails unless it succeeded")
      .argument("<id>", "call id")
      .option("--timeout <duration>", "how long to wait, e.g. 30s or 5m", "60s"),
  ).action(async (callId: string, flags: WaitFlags) => {
    const timeoutMs = parseDurationMs(flags.timeout);
    if (timeoutMs === undefined || timeoutMs <= 0) {
      throw new TfaasError("invalid-request", `Cannot wait for call ${callId}: --timeout must be a duration like 60s, got ${JSON.stringify(flags.timeout)}`);
    }
    const client = await connectAsync(io, flags);
    const deadline = Date.now() + timeoutMs;
    let pause = 50;
    let status = await client.status(callId);
    while (status.finishedAt === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TfaasError("timeout", `Cannot wait for call ${callId}: current state is ${status.state} after ${flags.timeout}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      pause = Math.min(1000, pause * 2);
      status = await client.status(callId);
    }
    if (status.result !== undefined) await writeChunk(io.stdout, status.resultEncoding === "base64" ? Buffer.from(status.result, "base64") : status.result);
    if (status.state !== "succeeded") {
      const code = status.statusCode === undefined ? "" : ` with status ${status.statusCode}`;
      throw new TfaasError("function-failed", `Cannot complete call ${callId}: current state is ${status.state}${code} after ${status.attempts} attempt(s)`);
    }
  });

  addGatewayOption(call.command("cancel").description("cancel a call that is still queued").argument("<id>", "call id")).action(
    async (callId: string, flags: GatewayFlags) => {
      await (await connectAsync(io, flags)).cancel(callId);
      io.stdout.write(`Cancelled: ${callId}\n`);
    },
  );
}

function describeStatus(status: CallStatus): string {
  const callback = status.callback;
  const resultSize = status.result === undefined ? undefined : status.resultEncoding === "base64" ? Buffer.from(status.result, "base64").length : Buffer.byteLength(status.result);
  return formatFields([
    ["Call", status.callId],
    ["Function", status.function],
    ["State", status.state],
    ["Attempts", String(status.attempts)],
    ["Status code", status.statusCode?.toString()],
    ["Created", status.createdAt],
    ["Started", status.startedAt],
    ["Finished", status.finishedAt],
    ["Duration", status.durationSeconds === undefined ? undefined : `${status.durationSeconds.toFixed(3)}s`],
    ["Callback", callback === undefined ? undefined : `${callback.url} (${callback.state}, ${callback.attempts} attempt(s))`],
    ["Callback error", callback?.lastError],
    ["Result", resultSize === undefined ? undefined : `${resultSize} bytes${status.contentType === undefined ? "" : `, ${status.contentType}`} (tfaas call wait prints it)`],
  ]);
}
