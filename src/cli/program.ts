/** The `tfaas` command line: every command registered on one commander program, run in-process. */
import { Command, CommanderError } from "commander";
import { registerAttest } from "./commands/attest.js";
import { registerCall } from "./commands/call.js";
import { registerConfidential } from "./commands/confidential.js";
import { registerFunctions } from "./commands/functions.js";
import { registerInvoke } from "./commands/invoke.js";
import { registerKbs } from "./commands/kbs.js";
import { registerLogin } from "./commands/login.js";
import { registerLogs } from "./commands/logs.js";
import { registerMeter } from "./commands/meter.js";
import { registerProject } from "./commands/project.js";
import { registerReceipt } from "./commands/receipt.js";
import { registerSecrets } from "./commands/secrets.js";
import { registerUp } from "./commands/up.js";
import { registerUsage } from "./commands/usage.js";
import { clientVersion, registerVersion } from "./commands/version.js";
import { registerWorker } from "./commands/worker.js";
import type { CliIo } from "./io.js";
import { processIo } from "./io.js";
import { errorLine } from "./report.js";

export function createProgram(io: CliIo): Command {
  const program = new Command("tfaas")
    .description("TFaaS: run WebAssembly functions behind an OpenFaaS-compatible gateway")
    .version(clientVersion(), "-V, --version", "print the client's version")
    .showHelpAfterError("(run with --help for usage)")
    // Set before commands are added: subcommands copy these settings when created.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`tfaas: ${text.replace(/^error: /, "")}`),
    });
  registerUp(program);
  registerWorker(program);
  registerLogin(program, io);
  registerProject(program, io);
  registerInvoke(program, io);
  registerCall(program, io);
  registerFunctions(program, io);
  registerLogs(program, io);
  registerSecrets(program, io);
  registerMeter(program, io);
  registerUsage(program, io);
  registerAttest(program, io);
  registerReceipt(program, io);
  registerConfidential(program, io);
  registerKbs(program, io);
  registerVersion(program, io);
  return program;
}

/** Runs one command line (without `node` and the script) and answers the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    // Commander has already printed its own usage errors and help.
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr.write(errorLine(error));
    return 1;
  }
}
