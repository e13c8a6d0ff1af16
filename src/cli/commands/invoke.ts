/** `tfaas invoke`: call a function with stdin as the request body and write its response body to stdout. */
import type { Command } from "commander";
import { bodyChunks } from "../client.js";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import { parseKeyValues } from "../deployment.js";
import type { CliIo } from "../io.js";
import { readStdin, writeChunk } from "../io.js";
import { collect } from "../parse-flags.js";

interface InvokeFlags extends GatewayFlags {
  header?: string[];
  query?: string[];
  method: string;
  contentType: string;
}

export function registerInvoke(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("invoke")
      .description("call a function: the request body is read from stdin (empty when stdin is a terminal), the response body is written to stdout")
      .argument("<name>", "function name")
      .option("-H, --header <key=value>", "request header (repeatable)", collect)
      .option("--query <key=value>", "query string parameter (repeatable)", collect)
      .option("-m, --method <method>", "HTTP method", "POST")
      .option("--content-type <type>", "Content-Type of the request body, unless a header sets it", "text/plain"),
  ).action(async (name: string, flags: InvokeFlags) => {
    const method = flags.method.toUpperCase();
    const headers = { "content-type": flags.contentType, ...lowerCaseKeys(parseKeyValues(flags.header ?? [], "--header")) };
    const query = Object.entries(parseKeyValues(flags.query ?? [], "--query"));
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
