/** `tfaas version`: this client's version and the gateway's. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import type { GatewayInfo } from "../client.js";
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
      let info: GatewayInfo;
      try {
        info = await (await connect(io, flags)).info();
      } catch (error) {
        // The client's version is worth showing even when the gateway cannot answer.
        if (flags.json === true) writeJson(io, { client: { version: client } });
        else io.stdout.write(formatFields([["Client", client]]));
        throw error;
      }
      if (flags.json === true) return writeJson(io, { client: { version: client }, gateway: info });
      io.stdout.write(
        formatFields([
          ["Client", client],
          ["Gateway", `${info.version.release} (${info.version.sha})`],
          ["Provider", `${info.provider.provider} ${info.provider.version.release} (${info.provider.orchestration})`],
          ["Architecture", info.arch],
        ]),
      );
    },
  );
}
