/** `tfaas invoke`: call a function with stdin as the request body and write its response body to stdout. */
import type { Command } from "commander";
import { TfaasError } from "../../shared/errors.js";
import { bodyChunks } from "../client.js";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import { parseKeyValues } from "../deployment.js";
import type { CliIo } from "../io.js";
import { readStdin, writeChunk } from "../io.js";
import { collect } from "../parse-flags.js";
import { connectAsync } from "./call.js";
import { addConfidentialOptions, invokeConfidential } from "./confidential.js";
import type { VerifierFlags } from "./attest.js";

interface InvokeFlags extends GatewayFlags, VerifierFlags {
  confidential?: boolean;
  header?: string[];
  query?: string[];
  method: string;
  contentType: string;
  async?: boolean;
  callbackUrl?: string;
}

export function registerInvoke(program: Command, io: CliIo): void {
  addConfidentialOptions(addGatewayOption(
    program
      .command("invoke")
      .description("call a function: the request body is read from stdin (empty when stdin is a terminal), the response body is written to stdout")
      .argument("<name>", "function name")
      .option("-H, --header <key=value>", "request header (repeatable)", collect)
      .option("--query <key=value>", "query string parameter (repeatable)", collect)
      .option("-m, --method <method>", "HTTP method", "POST")
      .option("--content-type <type>", "Content-Type of the request body, unless a header sets it", "text/plain")
      .option("--async", "queue the call (POST /async-function/<name>) and print its call id; see `tfaas call`")
      .option("--callback-url <url>", "with --async: where the gateway POSTs the result"),
  )).action(async (name: string, flags: InvokeFlags) => {
    const method = flags.method.toUpperCase();
    const headers = { "content-type": flags.contentType, ...lowerCaseKeys(parseKeyValues(flags.header ?? [], "--header")) };
    const query = Object.entries(parseKeyValues(flags.query ?? [], "--query"));
    if (flags.confidential === true) {
      if (flags.async === true) throw new TfaasError("invalid-request", "Cannot invoke with --confidential and --async: current CLI sends confidential calls synchronously only (the library keeps the decryption context in process)");
      const body = method === "GET" || method === "HEAD" ? undefined : await readStdin(io);
      const search = new URLSearchParams(query).toString();
      return invokeConfidential(io, flags, name, { method, headers, ...(search !== "" ? { query: search } : {}), ...(body !== undefined ? { body } : {}) });
    }
    if (flags.async === true) {
      if (method !== "POST") throw new TfaasError("invalid-request", `Cannot invoke asynchronously: current method is ${method}; /async-function takes POST only`);
      const calls = await connectAsync(io, flags);
      const body = await readStdin(io);
      io.stdout.write(`${await calls.enqueue(name, { method: "POST", headers, query, body }, flags.callbackUrl)}\n`);
      return;
    }
    if (flags.callbackUrl !== undefined) throw new TfaasError("invalid-request", "Cannot invoke with --callback-url: current mode is synchronous; add --async");
    const client = await connect(io, flags);
    // fetch refuses a body on GET and HEAD, so stdin is not read for them.
    const body = method === "GET" || method === "HEAD" ? undefined : await readStdin(io);
    const response = await client.invoke(name, body === undefined ? { method, headers, query } : { method, headers, query, body });
    for await (const chunk of bodyChunks(response)) await writeChunk(io.stdout, chunk);
  });
}

function lowerCaseKeys(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key.toLowerCase(), value]));
}
