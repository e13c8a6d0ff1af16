/**
 * Differential runner for the WebAssembly spec test suite in wast2json form. Every script runs
 * in two worlds side by side: one on the original modules, one on the modules after a
 * transform (the metering instrumenter). Each world has its own `spectest` instance and module
 * registry. For every command the runner checks that
 *   1. the original world's outcome is what the script expects (so the runner and engine are
 *      themselves proven), and
 *   2. the transformed world's outcome is identical to the original's.
 * Text-format (`.wat`) malformed modules are skipped and counted: there is no text parser here.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { callExact } from "./call-wrapper.js";
import { spectestExports } from "./spectest.js";
import { globalResult, resultMatches, sameResult, valueType, type SpecValue, type ValueType } from "./values.js";

/** Rewrites a module's bytes; throwing means the transform rejects the module. */
export type Transform = (bytes: Uint8Array) => Uint8Array<ArrayBuffer>;

export type Outcome =
  | { kind: "returned"; values: string[]; types: ValueType[] }
  | { kind: "trap"; message: string }
  | { kind: "exhaustion" }
  | { kind: "instantiated" }
  | { kind: "compile-error"; message: string }
  | { kind: "rejected"; message: string }
  | { kind: "link-error"; message: string }
  | { kind: "error"; message: string };

export interface Mismatch {
  script: string;
  line: number;
  command: string;
  /** "expectation": the original run disagrees with the script; "differential": the two runs disagree. */
  kind: "expectation" | "differential";
  detail: string;
}

export interface CommandCounts {
  run: number;
  passed: number;
  skipped: number;
}

export interface ScriptReport {
  script: string;
  counts: Record<string, CommandCounts>;
  mismatches: Mismatch[];
  /** Modules the transform rewrote, and how many it rejected (only invalid ones may be). */
  transformed: number;
  rejected: number;
}

interface Action {
  type: "invoke" | "get";
  module?: string;
  field: string;
  args?: SpecValue[];
}

interface Command {
  type: string;
  line: number;
  filename?: string;
  name?: string;
  as?: string;
  module_type?: "binary" | "text";
  action?: Action;
  expected?: SpecValue[];
  text?: string;
}

class World {
  readonly registry: Record<string, WebAssembly.Exports> = {};
  readonly named = new Map<string, WebAssembly.Instance>();
  current: WebAssembly.Instance | undefined;
  transformed = 0;
  rejected = 0;

  constructor(
    private readonly folder: string,
    private readonly transform: Transform | undefined,
  ) {
    this.registry.spectest = spectestExports();
  }

  /** Decodes (and transforms), compiles and, unless `compileOnly`, instantiates a module file. */
  load(filename: string, compileOnly: boolean): { outcome: Outcome; instance?: WebAssembly.Instance } {
    let bytes: Uint8Array = readFileSync(path.join(this.folder, filename));
    if (this.transform !== undefined) {
      try {
        bytes = this.transform(bytes);
        this.transformed++;
      } catch (error) {
        this.rejected++;
        return { outcome: { kind: "rejected", message: messageOf(error) } };
      }
    }
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    } catch (error) {
      return { outcome: { kind: "compile-error", message: messageOf(error) } };
    }
    if (compileOnly) return { outcome: { kind: "instantiated" } };
    try {
      const instance = new WebAssembly.Instance(module, this.registry as WebAssembly.Imports);
      return { outcome: { kind: "instantiated" }, instance };
    } catch (error) {
      return { outcome: thrownOutcome(error) };
    }
  }

  instanceFor(moduleName: string | undefined): WebAssembly.Instance | undefined {
    return moduleName === undefined ? this.current : this.named.get(moduleName);
  }

  perform(action: Action, resultTypes: ValueType[]): Outcome {
    const instance = this.instanceFor(action.module);
    if (instance === undefined) return { kind: "error", message: `no module ${action.module ?? "(current)"}` };
    const target = instance.exports[action.field];
    if (action.type === "get") {
      if (!(target instanceof WebAssembly.Global)) return { kind: "error", message: `export ${action.field} is not a global` };
      return { kind: "returned", values: resultTypes.map((type) => globalResult(target.value, type)), types: resultTypes };
    }
    if (typeof target !== "function") return { kind: "error", message: `export ${action.field} is not a function` };
    try {
      return { kind: "returned", values: callExact(target, action.args ?? [], resultTypes), types: resultTypes };
    } catch (error) {
      return thrownOutcome(error);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function thrownOutcome(error: unknown): Outcome {
  if (error instanceof WebAssembly.RuntimeError) return { kind: "trap", message: error.message };
  if (error instanceof RangeError && /call stack/i.test(error.message)) return { kind: "exhaustion" };
  // The JS API reports a missing import module as a TypeError rather than a LinkError.
  if (error instanceof WebAssembly.LinkError || error instanceof TypeError) return { kind: "link-error", message: messageOf(error) };
  if (error instanceof WebAssembly.CompileError) return { kind: "compile-error", message: messageOf(error) };
  return { kind: "error", message: messageOf(error) };
}

function describe(outcome: Outcome): string {
  switch (outcome.kind) {
    case "returned":
      return `returned [${outcome.values.join(", ")}]`;
    case "trap":
    case "compile-error":
    case "rejected":
    case "link-error":
    case "error":
      return `${outcome.kind} (${outcome.message})`;
    default:
      return outcome.kind;
  }
}

/** Does the original run's outcome satisfy the command's expectation? Returns the complaint, if any. */
function expectationFailure(command: Command, outcome: Outcome): string | undefined {
  const want = (kind: Outcome["kind"]) => (outcome.kind === kind ? undefined : `expected ${kind}, got ${describe(outcome)}`);
  switch (command.type) {
    case "module":
      return want("instantiated");
    case "action":
      return want("returned");
    case "assert_return": {
      if (outcome.kind !== "returned") return `expected returned, got ${describe(outcome)}`;
      const expected = command.expected ?? [];
      const ok = expected.length === outcome.values.length && expected.every((value, index) => resultMatches(outcome.values[index] ?? "", value));
      return ok ? undefined : `expected [${expected.map((v) => JSON.stringify(v.value)).join(", ")}], got ${describe(outcome)}`;
    }
    case "assert_trap":
    case "assert_uninstantiable":
      return want("trap");
    case "assert_exhaustion":
      return want("exhaustion");
    case "assert_invalid":
    case "assert_malformed":
      return want("compile-error");
    case "assert_unlinkable":
      return want("link-error");
    default:
      return `unknown command ${command.type}`;
  }
}

/** Do the two worlds agree? A transform may reject exactly those modules the engine refuses to compile. */
function differentialFailure(original: Outcome, transformed: Outcome): string | undefined {
  const refused = (o: Outcome) => o.kind === "compile-error" || o.kind === "rejected";
  if (refused(original) && refused(transformed)) return undefined;
  const mismatch = `original ${describe(original)}, transformed ${describe(transformed)}`;
  if (original.kind !== transformed.kind) return mismatch;
  if (original.kind === "returned" && transformed.kind === "returned") {
    const same =
      original.values.length === transformed.values.length &&
      original.values.every((value, index) => sameResult(value, transformed.values[index] ?? "", original.types[index] ?? "i32"));
    return same ? undefined : mismatch;
  }
  if (original.kind === "trap" && transformed.kind === "trap") return original.message === transformed.message ? undefined : mismatch;
  return undefined;
}

function runCommand(command: Command, world: World): Outcome {
  switch (command.type) {
    case "module": {
      const { outcome, instance } = world.load(command.filename ?? "", false);
      if (instance !== undefined) {
        world.current = instance;
        if (command.name !== undefined) world.named.set(command.name, instance);
      }
      return outcome;
    }
    case "assert_invalid":
    case "assert_malformed":
      return world.load(command.filename ?? "", true).outcome;
    case "assert_unlinkable":
    case "assert_uninstantiable":
      return world.load(command.filename ?? "", false).outcome;
    default: {
      const action = command.action;
      if (action === undefined) return { kind: "error", message: `command ${command.type} has no action` };
      return world.perform(action, (command.expected ?? []).map(valueType));
    }
  }
}

/** Runs one script folder (`<root>/<name>/<name>.json`) in both worlds. */
export function runSpecScript(folder: string, transform: Transform): ScriptReport {
  const script = path.basename(folder);
  const { commands } = JSON.parse(readFileSync(path.join(folder, `${script}.json`), "utf8")) as { commands: Command[] };
  const original = new World(folder, undefined);
  const rewritten = new World(folder, transform);
  const counts: Record<string, CommandCounts> = {};
  const mismatches: Mismatch[] = [];

  for (const command of commands) {
    const count = (counts[command.type] ??= { run: 0, passed: 0, skipped: 0 });
    if (command.module_type === "text") {
      count.skipped++;
      continue;
    }
    if (command.type === "register") {
      count.run++;
      let registered = true;
      for (const world of [original, rewritten]) {
        const instance = world.instanceFor(command.name);
        if (instance === undefined) registered = false;
        else world.registry[command.as ?? ""] = instance.exports;
      }
      if (registered) count.passed++;
      else mismatches.push({ script, line: command.line, command: command.type, kind: "expectation", detail: `no module ${command.name ?? "(current)"} to register` });
      continue;
    }
    count.run++;
    const before = mismatches.length;
    const originalOutcome = runCommand(command, original);
    const rewrittenOutcome = runCommand(command, rewritten);
    const expectation = expectationFailure(command, originalOutcome);
    if (expectation !== undefined) {
      mismatches.push({ script, line: command.line, command: command.type, kind: "expectation", detail: expectation });
    }
    const differential = differentialFailure(originalOutcome, rewrittenOutcome);
    if (differential !== undefined) mismatches.push({ script, line: command.line, command: command.type, kind: "differential", detail: differential });
    if (mismatches.length === before) count.passed++;
  }
  return { script, counts, mismatches, transformed: rewritten.transformed, rejected: rewritten.rejected };
}

/** The script folders under the suite's root, sorted. */
export function listSpecScripts(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, entry.name, `${entry.name}.json`)))
    .map((entry) => path.join(root, entry.name))
    .sort();
}
