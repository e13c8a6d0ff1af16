/** `tfaas login` / `tfaas logout`: check credentials against the gateway and remember them per gateway URL. */
import type { Command } from "commander";
import { Defaults } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";
import { GatewayClient } from "../client.js";
import { removeLogin, saveLogin } from "../credentials.js";
import { addGatewayOption } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import { resolveGatewayUrl } from "../gateway-url.js";
import type { CliIo } from "../io.js";
import { readStdin } from "../io.js";

interface LoginFlags extends GatewayFlags {
  username: string;
  password?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("login")
      .description("check credentials against the gateway and save them for later commands (in $TFAAS_CONFIG_DIR or ~/.tfaas)")
      .option("-u, --username <user>", "user name", Defaults.adminUser)
      .option("-p, --password <password>", "password (visible to other local users in the process list; prefer --password-stdin)")
      .option("-s, --password-stdin", "read the password from stdin"),
  ).action(async (flags: LoginFlags) => {
    const url = resolveGatewayUrl({ flag: flags.gateway, env: io.env });
    const password = await readPassword(io, flags);
    const credentials = { user: flags.username, password };
    // Listing functions needs authentication and changes nothing: a fair test of the credentials.
    await new GatewayClient(url, credentials).listFunctions().catch((error: unknown) => {
      if (error instanceof TfaasError && error.code === "unauthorized") {
        throw new TfaasError("unauthorized", `Cannot log in to ${url}: the gateway rejected the password for user ${credentials.user}`);
      }
      throw error;
    });
    const path = await saveLogin(io.env, url, credentials);
    io.stdout.write(`Logged in to ${url} as ${credentials.user}; credentials saved in ${path}\n`);
  });

  addGatewayOption(program.command("logout").description("forget the saved credentials for the gateway")).action(async (flags: GatewayFlags) => {
    const url = resolveGatewayUrl({ flag: flags.gateway, env: io.env });
    const removed = await removeLogin(io.env, url);
    io.stdout.write(removed ? `Logged out of ${url}\n` : `No saved login for ${url}\n`);
  });
}

async function readPassword(io: CliIo, flags: LoginFlags): Promise<string> {
  if (flags.password !== undefined && flags.passwordStdin === true) {
    throw new TfaasError("invalid-request", "Cannot log in: --password and --password-stdin exclude each other; give one");
  }
  if (flags.passwordStdin === true) {
    if (io.stdin.isTTY === true) throw new TfaasError("invalid-request", "Cannot log in: --password-stdin needs the password piped in, but stdin is a terminal");
    const password = (await readStdin(io)).toString("utf8").replace(/\r?\n$/, "");
    if (password === "") throw new TfaasError("invalid-request", "Cannot log in: the password read from stdin is empty");
    return password;
  }
  if (flags.password !== undefined) {
    io.stderr.write("WARNING: --password is visible to other users in the process list; prefer --password-stdin\n");
    if (flags.password === "") throw new TfaasError("invalid-request", "Cannot log in: --password is empty");
    return flags.password;
  }
  throw new TfaasError("invalid-request", "Cannot log in: no password given; pass --password-stdin (e.g. `cat pw.txt | tfaas login --password-stdin`) or --password");
}
