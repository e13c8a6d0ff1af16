/**
 * `tfaas meter`: what the platform does to a module, locally (no gateway). `instrument` writes
 * the instrumented module; `run` instantiates a module (instrumenting it first unless it already
 * is) with imports that trap when called, invokes one export and prints its results and usage.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { exportedFunctionSignatures, instrument, isFuelExhausted, MeteringExports, readMeteringUsage, setFuelLimit, weightsByVersion } from "../../metering/index.js";
import type { InstrumentReport, MeteringUsage } from "../../metering/index.js";
import { TfaasError } from "../../shared/errors.js";
import type { CliIo } from "../io.js";
import { formatFields, writeJson } from "../output.js";

interface InstrumentFlags {
  output: string;
  weights: string;
  optimize: boolean;
  json?: boolean;
}

interface RunFlags {
  invoke?: string;
  fuelLimit?: string;
  weights: string;
  json?: boolean;
}

export function registerMeter(program: Command, io: CliIo): void {
  const meter = program.command("meter").description("inspect metering: instrument a WebAssembly module or run one and see its fuel");
  meter
    .command("instrument")
    .description("write the metered form of a module, as the platform deploys it")
    .argument("<in.wasm>", "WebAssembly module")
    .requiredOption("-o, --output <out.wasm>", "where to write the instrumented module")
    .option("--weights <version>", "weight table version", "v1")
    .option("--no-optimize", "naive per-block counting (to compare overheads)")
    .option("--json", "print the report as JSON")
    .action(async (input: string, flags: InstrumentFlags) => {
      const bytes = await readModule(io, input);
      const started = performance.now();
      const { bytes: output, report } = instrument(bytes, { weights: weightsByVersion(flags.weights), optimize: flags.optimize });
      const milliseconds = performance.now() - started;
      await writeFile(path.resolve(io.cwd, flags.output), output);
      if (flags.json === true) return writeJson(io, report);
      io.stdout.write(formatReport(report, milliseconds));
    });
  meter
    .command("run")
    .description("run a module's export with fuel metering; imported functions trap when called")
    .argument("<file.wasm>", "WebAssembly module, instrumented or not")
    .argument("[args...]", "arguments for the export (numbers; i64 as integers)")
    .option("--invoke <export>", "the exported function to call (default: _start when exported, else instantiate only)")
    .option("--fuel-limit <fuel>", "budget; the call traps with fuel exhausted beyond it")
    .option("--weights <version>", "weight table version, when the module is instrumented here", "v1")
    .option("--json", "print results and usage as JSON")
    .action(async (file: string, args: string[], flags: RunFlags) => {
      const original = await readModule(io, file);
      const alreadyInstrumented = WebAssembly.Module.exports(await compile(original)).some((entry) => entry.name === MeteringExports.fuel);
      const bytes = alreadyInstrumented ? original : instrument(original, { weights: weightsByVersion(flags.weights) }).bytes;
      const outcome = await runExport(bytes, args, flags);
      if (flags.json === true) {
        return writeJson(io, {
          instrumentedHere: !alreadyInstrumented,
          export: outcome.exportName ?? null,
          results: outcome.results?.map(String) ?? null,
          trap: outcome.trap ?? null,
          fuelExhausted: outcome.fuelExhausted,
          usage: usageJson(outcome.usage),
        });
      }
      io.stdout.write(
        formatFields([
          ["Export", outcome.exportName ?? "(instantiated only)"],
          ["Results", outcome.results === undefined ? undefined : outcome.results.map(String).join(" ") || "(none)"],
          ["Trap", outcome.trap === undefined ? undefined : outcome.fuelExhausted ? "fuel exhausted" : outcome.trap],
          ["Fuel", outcome.usage.fuel.toString()],
          ["Memory peak", `${outcome.usage.memoryPeakPages} pages (${outcome.usage.memoryPeakPages * 64} KiB)`],
          ["Page x fuel", outcome.usage.pageFuelIntegral.toString()],
        ]),
      );
      if (outcome.trap !== undefined) throw new TfaasError("function-failed", `Cannot complete ${outcome.exportName ?? "instantiation"}: ${outcome.fuelExhausted ? "fuel exhausted" : outcome.trap}`);
    });
}

async function readModule(io: CliIo, file: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await readFile(path.resolve(io.cwd, file)));
}

async function compile(bytes: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    throw new TfaasError("invalid-artifact", `Cannot compile WebAssembly module: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

interface RunOutcome {
  exportName?: string;
  results?: unknown[];
  trap?: string;
  fuelExhausted: boolean;
  usage: MeteringUsage;
}

async function runExport(bytes: Uint8Array<ArrayBuffer>, args: string[], flags: RunFlags): Promise<RunOutcome> {
  const module = await compile(bytes);
  const instance = await WebAssembly.instantiate(module, trappingImports(module));
  const exports = instance.exports;
  if (flags.fuelLimit !== undefined) {
    if (!/^\d+$/.test(flags.fuelLimit)) throw new TfaasError("invalid-request", `Cannot use --fuel-limit: current value is ${JSON.stringify(flags.fuelLimit)}, expected a whole number`);
    setFuelLimit(exports, BigInt(flags.fuelLimit));
  }
  const signatures = exportedFunctionSignatures(bytes);
  const exportName = flags.invoke ?? (signatures.has("_start") ? "_start" : undefined);
  if (exportName === undefined) return { fuelExhausted: false, usage: readMeteringUsage(exports) };
  const signature = signatures.get(exportName);
  const callee = exports[exportName];
  if (signature === undefined || typeof callee !== "function") {
    throw new TfaasError("invalid-request", `Cannot invoke ${JSON.stringify(exportName)}: the module exports no such function`);
  }
  if (args.length !== signature.params.length) {
    throw new TfaasError("invalid-request", `Cannot invoke ${exportName}: current value is ${args.length} arguments, expected ${signature.params.length} (${signature.params.join(" ")})`);
  }
  const values = args.map((arg, index) => parseArgument(arg, signature.params[index] as string));
  try {
    const returned: unknown = (callee as (...values: unknown[]) => unknown)(...values);
    const results = signature.results.length === 1 ? [returned] : signature.results.length === 0 ? [] : [...(returned as Iterable<unknown>)];
    return { exportName, results, fuelExhausted: false, usage: readMeteringUsage(exports) };
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError) && !(error instanceof ImportCalled)) throw error;
    return { exportName, trap: error.message, fuelExhausted: isFuelExhausted(exports, error), usage: readMeteringUsage(exports) };
  }
}

class ImportCalled extends Error {}

/** Every imported function traps when called; other import kinds cannot be stubbed meaningfully. */
function trappingImports(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.kind !== "function") {
      throw new TfaasError("invalid-request", `Cannot run module: it imports a ${entry.kind} (${entry.module}.${entry.name}); tfaas meter run provides function imports only`);
    }
    (imports[entry.module] ??= {})[entry.name] = () => {
      throw new ImportCalled(`import ${entry.module}.${entry.name} was called; tfaas meter run provides no imports`);
    };
  }
  return imports;
}

function parseArgument(text: string, type: string): number | bigint {
  if (type === "i64") {
    if (!/^-?\d+$/.test(text)) throw new TfaasError("invalid-request", `Cannot pass ${JSON.stringify(text)} as i64: expected an integer`);
    return BigInt(text);
  }
  if (type === "i32" || type === "f32" || type === "f64") {
    const value = Number(text);
    if (text.trim() === "" || Number.isNaN(value)) throw new TfaasError("invalid-request", `Cannot pass ${JSON.stringify(text)} as ${type}: expected a number`);
    return value;
  }
  throw new TfaasError("invalid-request", `Cannot pass an argument of type ${type} from the command line`);
}

function usageJson(usage: MeteringUsage): Record<string, string | number> {
  return { fuel: usage.fuel.toString(), memoryPeakPages: usage.memoryPeakPages, pageFuelIntegral: usage.pageFuelIntegral.toString() };
}

function formatReport(report: InstrumentReport, milliseconds: number): string {
  return formatFields([
    ["Weights", report.weightsVersion],
    ["Optimized", report.optimized ? "yes" : "no"],
    ["Functions", String(report.functions)],
    ["Blocks charged", String(report.blocks)],
    ["Checks", String(report.checks)],
    ["Bulk sites", String(report.bulkSites)],
    ["memory.grow sites", String(report.memoryGrowSites)],
    ["Size", `${report.inputBytes} -> ${report.outputBytes} bytes (${((report.outputBytes / Math.max(1, report.inputBytes) - 1) * 100).toFixed(1)}%)`],
    ["Time", `${milliseconds.toFixed(1)} ms`],
  ]);
}
