/** The `--gateway` flag every networked command shares, and turning it into a ready client. */
import type { Command } from "commander";
import { GatewayClient } from "./client.js";
import { resolveCredentials } from "./credentials.js";
import { DEFAULT_GATEWAY_URL, resolveGatewayUrl } from "./gateway-url.js";
import type { CliIo } from "./io.js";

export interface GatewayFlags {
  gateway?: string;
}

/** `readsStack`: the command also takes the gateway from the stack file's `provider.gateway`. */
export function addGatewayOption(command: Command, readsStack = false, purpose = "gateway URL"): Command {
  const fallback = readsStack ? `provider.gateway in the stack file, else ${DEFAULT_GATEWAY_URL}` : DEFAULT_GATEWAY_URL;
  return command.option("-g, --gateway <url>", `${purpose} (env: TFAAS_GATEWAY or OPENFAAS_URL; default: ${fallback})`);
}

/** A client for the gateway chosen by flag, environment or stack file, with the credentials known for it. */
export async function connect(io: CliIo, flags: GatewayFlags, stackGateway?: string): Promise<GatewayClient> {
  const url = resolveGatewayUrl({ flag: flags.gateway, env: io.env, stack: stackGateway });
  return new GatewayClient(url, await resolveCredentials(io.env, url));
}
