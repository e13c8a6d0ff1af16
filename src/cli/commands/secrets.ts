/** `tfaas secret create|update|list|remove`: values functions read at /var/openfaas/secrets/<name>. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { TfaasError } from "../../shared/errors.js";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import type { CliIo } from "../io.js";
import { readStdin } from "../io.js";
import { formatTable, writeJson } from "../output.js";

interface ValueFlags extends GatewayFlags {
  fromLiteral?: string;
  fromFile?: string;
  trim: boolean;
}

export function registerSecrets(program: Command, io: CliIo): void {
  const secret = program.command("secret").description("manage secrets that functions can read");

  for (const verb of ["create", "update"] as const) {
    addGatewayOption(
      secret
        .command(verb)
        .description(`${verb} a secret; the value comes from --from-literal, --from-file or stdin`)
        .argument("<name>", "secret name")
        .option("--from-literal <value>", "the value itself (visible to other local users in the process list)")
        .option("--from-file <path>", "read the value from a file (UTF-8 text)")
        .option("--no-trim", "keep whitespace at the start and end of the value"),
    ).action(async (name: string, flags: ValueFlags) => {
      const value = await readValue(io, flags, `${verb} secret ${name}`);
      const client = await connect(io, flags);
      if (verb === "create") await client.createSecret(name, value);
      else await client.updateSecret(name, value);
      io.stdout.write(`${verb === "create" ? "Created" : "Updated"} secret ${name}\n`);
    });
  }

  addGatewayOption(secret.command("list").alias("ls").description("list secret names (never values)").option("--json", "print the gateway's answer as JSON")).action(
    async (flags: GatewayFlags & { json?: boolean }) => {
      const client = await connect(io, flags);
      const secrets = (await client.listSecrets()).sort((a, b) => a.name.localeCompare(b.name));
      if (flags.json === true) return writeJson(io, secrets);
      io.stdout.write(formatTable(["Name"], secrets.map((entry) => [entry.name])));
    },
  );

  addGatewayOption(secret.command("remove").alias("rm").description("remove a secret").argument("<name>", "secret name")).action(
    async (name: string, flags: GatewayFlags) => {
      const client = await connect(io, flags);
      await client.removeSecret(name);
      io.stdout.write(`Removed secret ${name}\n`);
    },
  );
}

async function readValue(io: CliIo, flags: ValueFlags, action: string): Promise<string> {
  if (flags.fromLiteral !== undefined && flags.fromFile !== undefined) {
    throw new TfaasError("invalid-request", `Cannot ${action}: --from-literal and --from-file exclude each other; give one`);
  }
  let value: string;
  if (flags.fromLiteral !== undefined) value = flags.fromLiteral;
  else if (flags.fromFile !== undefined) {
    try {
      value = await readFile(resolve(io.cwd, flags.fromFile), "utf8");
    } catch (cause) {
      const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (cause as Error).message;
      throw new TfaasError("invalid-request", `Cannot ${action}: cannot read --from-file ${flags.fromFile}: ${reason}`, { cause });
    }
  } else {
    if (io.stdin.isTTY === true) throw new TfaasError("invalid-request", `Cannot ${action}: no value given; pass --from-literal or --from-file, or pipe the value on stdin`);
    value = (await readStdin(io)).toString("utf8");
  }
  if (flags.trim) value = value.trim();
  if (value === "") throw new TfaasError("invalid-request", `Cannot ${action}: the value is empty`);
  return value;
}
