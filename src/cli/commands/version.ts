/** `tfaas version`: this client's version and the gateway's. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import type { CliIo } from "../io.js";
import { formatFields, writeJson } from "../output.js";

/** From package.json, which sits three levels up from both src/cli/commands/ and dist/cli/commands/. */
export function clientVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

export function registerVersion(program: Command, io: CliIo): void {
  addGatewayOption(program.command("version").description("print the versions of this client and of the gateway").option("--json", "print as JSON")).action(
    async (flags: GatewayFlags & { json?: boolean }) => {
      const client = clientVersion();
      if (flags.json !== true) io.stdout.write(formatFields([["Client", client]]));
      // Asked after printing the client's version, so that much shows even when the gateway is down.
      const info = await (await connect(io, flags)).info();
      if (flags.json === true) return writeJson(io, { client: { version: client }, gateway: info });
      io.stdout.write(
        formatFields([
          ["Gateway", `${info.version.release} (${info.version.sha})`],
          ["Provider", `${info.provider.provider} ${info.provider.version.release} (${info.provider.orchestration})`],
          ["Architecture", info.arch],
        ]),
      );
    },
  );
}
