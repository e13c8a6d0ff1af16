/** `tfaas list`, `describe` and `remove`: the deployed functions. */
import type { Command } from "commander";
import type { FunctionInfo } from "../client.js";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import type { CliIo } from "../io.js";
import { formatFields, formatMap, formatTable, shortDigest, writeJson } from "../output.js";

interface ListFlags extends GatewayFlags {
  json?: boolean;
  verbose?: boolean;
}

export function registerFunctions(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("list")
      .alias("ls")
      .description("list the deployed functions")
      .option("--json", "print the gateway's answer as JSON")
      .option("-v, --verbose", "show full image digests, namespace, available replicas and creation time"),
  ).action(async (flags: ListFlags) => {
    const client = await connect(io, flags);
    const functions = (await client.listFunctions()).sort((a, b) => a.name.localeCompare(b.name));
    if (flags.json === true) return writeJson(io, functions);
    const rows = functions.map((fn) => {
      const basic = [fn.name, String(fn.invocationCount), String(fn.replicas)];
      return flags.verbose === true
        ? [...basic, fn.image, fn.namespace ?? "-", String(fn.availableReplicas), fn.createdAt ?? "-"]
        : [...basic, shortDigest(fn.image)];
    });
    const headers = ["Function", "Invocations", "Replicas", "Image"];
    io.stdout.write(formatTable(flags.verbose === true ? [...headers, "Namespace", "Available", "Created"] : headers, rows));
  });

  addGatewayOption(
    program
      .command("describe")
      .description("show a deployed function's settings and status")
      .argument("<name>", "function name")
      .option("--json", "print the gateway's answer as JSON"),
  ).action(async (name: string, flags: ListFlags) => {
    const client = await connect(io, flags);
    const fn = await client.getFunction(name);
    if (flags.json === true) return writeJson(io, fn);
    io.stdout.write(describe(fn, `${client.url}/function/${fn.name}`));
  });

  addGatewayOption(
    program.command("remove").alias("rm").description("remove a deployed function").argument("<name>", "function name"),
  ).action(async (name: string, flags: GatewayFlags) => {
    const client = await connect(io, flags);
    io.stdout.write(`Removing: ${name} … `);
    try {
      await client.removeFunction(name);
    } catch (error) {
      io.stdout.write("failed\n");
      throw error;
    }
    io.stdout.write("done\n");
  });
}

function describe(fn: FunctionInfo, url: string): string {
  const resources = (value: { memory?: string | undefined; cpu?: string | undefined } | undefined) =>
    value === undefined ? undefined : [value.memory && `memory=${value.memory}`, value.cpu && `cpu=${value.cpu}`].filter(Boolean).join(", ") || "-";
  return formatFields([
    ["Name", fn.name],
    ["Status", fn.availableReplicas > 0 ? "Ready" : "Not Ready"],
    ["Namespace", fn.namespace],
    ["Image", fn.image],
    ["Replicas", String(fn.replicas)],
    ["Available replicas", String(fn.availableReplicas)],
    ["Invocations", String(fn.invocationCount)],
    ["Created", fn.createdAt],
    ["URL", url],
    ["Environment", formatMap(fn.envVars)],
    ["Secrets", fn.secrets === undefined || fn.secrets.length === 0 ? "-" : fn.secrets.join(", ")],
    ["Labels", formatMap(fn.labels)],
    ["Annotations", formatMap(fn.annotations)],
    ["Limits", resources(fn.limits)],
    ["Requests", resources(fn.requests)],
  ]);
}
