/** The `tfaas` executable (bin/tfaas.js imports the compiled file). */
import { runCli } from "./program.js";

process.exitCode = await runCli(process.argv.slice(2));
