/**
 * Property tests of the metering instrumenter on random valid programs (program-generator.ts):
 * instrumented programs compute exactly what the originals compute (result or trap, and the
 * final memory), fuel is deterministic and the same with and without the optimiser, and a fuel
 * budget stops a run at the same point every time.
 *
 * Budget semantics, as the instrumenter documents them (src/metering/body.ts): a check sits at
 * each function entry and loop header and traps when the fuel consumed *before* it exceeds the
 * limit. So for a given run there is a threshold T (the fuel at the last check, T ≤ total fuel):
 * every limit ≥ T completes, every limit < T exhausts; straight-line work after the last check
 * is counted but not stopped.
 */
import { createHash } from "node:crypto";
import wabtInit from "wabt";
import { beforeAll, describe, expect, it } from "vitest";
import { instrument, isFuelExhausted, readMeteringUsage, setFuelLimit, weightsV1, type WeightTable } from "../../src/metering/index.js";
import { generateProgram, Rng } from "./program-generator.js";

const PROGRAMS = 300;
const BUDGET_PROGRAMS = 150;

type Outcome = { kind: "returned"; value: bigint; memory: string } | { kind: "trap"; message: string; memory: string } | { kind: "exhausted" };

interface Run {
  outcome: Outcome;
  /** Fuel read after the call (instrumented modules only). */
  fuel?: bigint;
}

function memoryDigest(exports: WebAssembly.Exports): string {
  const memory = exports.memory as WebAssembly.Memory;
  return createHash("sha256").update(new Uint8Array(memory.buffer)).digest("hex");
}

/** One call of `run(seed)` on a fresh instance. */
function runProgram(module: WebAssembly.Module, argument: number, metered: boolean, limit?: bigint): Run {
  const { exports } = new WebAssembly.Instance(module, {});
  if (limit !== undefined) setFuelLimit(exports, limit);
  let outcome: Outcome;
  try {
    const value = (exports.run as (x: number) => bigint)(argument);
    outcome = { kind: "returned", value, memory: memoryDigest(exports) };
  } catch (error) {
    if (metered && isFuelExhausted(exports, error)) outcome = { kind: "exhausted" };
    else if (error instanceof WebAssembly.RuntimeError) outcome = { kind: "trap", message: error.message, memory: memoryDigest(exports) };
    else throw error;
  }
  return metered ? { outcome, fuel: readMeteringUsage(exports).fuel } : { outcome };
}

interface Subject {
  seed: number;
  original: WebAssembly.Module;
  optimized: WebAssembly.Module;
  naive: WebAssembly.Module;
}

const subjects: Subject[] = [];
let doubledWeights: WeightTable;

beforeAll(async () => {
  const wabt = await wabtInit();
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const program = generateProgram(seed);
    const parsed = wabt.parseWat(`program-${seed}.wat`, program.wat);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = Uint8Array.from(parsed.toBinary({}).buffer);
    } finally {
      parsed.destroy();
    }
    subjects.push({
      seed,
      original: new WebAssembly.Module(bytes),
      optimized: new WebAssembly.Module(instrument(bytes).bytes),
      naive: new WebAssembly.Module(instrument(bytes, { optimize: false }).bytes),
    });
  }
  const costs = Object.fromEntries(Object.entries(weightsV1.costs).map(([name, cost]) => [name, cost * 2])) as unknown as WeightTable["costs"];
  doubledWeights = { ...weightsV1, version: "test-doubled", costs };
});

describe("metering properties on random programs", () => {
  it("instrumented programs return, trap and write memory exactly as the originals, with deterministic fuel", () => {
    let trapped = 0;
    const fuels: bigint[] = [];
    for (const { seed, original, optimized, naive } of subjects) {
      const expected = runProgram(original, seed, false).outcome;
      const first = runProgram(optimized, seed, true);
      const second = runProgram(optimized, seed, true);
      const plain = runProgram(naive, seed, true);
      expect({ seed, outcome: first.outcome }).toEqual({ seed, outcome: expected });
      expect({ seed, outcome: plain.outcome }).toEqual({ seed, outcome: expected });
      expect({ seed, fuel: second.fuel }).toEqual({ seed, fuel: first.fuel });
      expect({ seed, fuel: runProgram(naive, seed, true).fuel }).toEqual({ seed, fuel: plain.fuel });
      expect(first.fuel! > 0n).toBe(true);
      // The optimiser moves charges around but must not change the total of a completed run. A
      // region is charged when it starts, so after an ordinary trap the fuel includes the rest of
      // the trapping region, and regions differ with and without the optimiser.
      if (expected.kind === "trap") trapped++;
      else expect({ seed, fuel: plain.fuel }).toEqual({ seed, fuel: first.fuel });
      fuels.push(first.fuel!);
    }
    fuels.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    console.log(
      `property: ${subjects.length} programs, ${trapped} trapping; fuel per run min ${fuels[0]}, median ${fuels[fuels.length >> 1]}, max ${fuels.at(-1)}`,
    );
    // The generator must exercise both paths, or the trap comparison proves nothing.
    expect(trapped).toBeGreaterThan(0);
    expect(trapped).toBeLessThan(subjects.length / 2);
  });

  it("a fuel budget stops every run at the same point, with and without the optimiser", () => {
    const rng = new Rng(0x5eed);
    let checked = 0;
    let tails = 0;
    for (const { seed, optimized, naive } of subjects.slice(0, BUDGET_PROGRAMS)) {
      const unlimited = runProgram(optimized, seed, true);
      const total = unlimited.fuel!;
      // A bound on the work a run did: its fuel or, for a trapping run, also the naive count at the
      // trap (every region charged as it starts, nothing lagging), which no check before the trap
      // exceeds. The optimised count at a trap is its last flush, which may lag the checks by
      // forward code (and include more of the trapping region, as regions are merged).
      const naiveAtTrap = unlimited.outcome.kind === "trap" ? runProgram(naive, seed, true).fuel! : 0n;
      const work = naiveAtTrap > total ? naiveAtTrap : total;
      const completes = (limit: bigint) => runProgram(optimized, seed, true, limit).outcome.kind !== "exhausted";
      expect(completes(work)).toBe(true);
      // Smallest limit that lets the run finish: the threshold T described above.
      let low = 0n;
      let high = work;
      while (low < high) {
        const middle = (low + high) / 2n;
        if (completes(middle)) high = middle;
        else low = middle + 1n;
      }
      const threshold = low;
      if (threshold < work) tails++;
      const atThreshold = runProgram(optimized, seed, true, threshold);
      if (unlimited.outcome.kind === "trap") {
        // A counted loop is charged in full before it runs only when the budget covers all of
        // it, else per iteration; a trap inside it thus leaves less fuel under a tighter budget.
        expect({ seed, outcome: atThreshold.outcome }).toEqual({ seed, outcome: unlimited.outcome });
        expect(atThreshold.fuel! <= total).toBe(true);
      } else {
        expect({ seed, outcome: atThreshold.outcome, fuel: atThreshold.fuel }).toEqual({ seed, outcome: unlimited.outcome, fuel: total });
      }
      if (threshold === 0n) continue;

      for (const limit of [threshold - 1n, BigInt(rng.int(Number(threshold))), 0n]) {
        const first = runProgram(optimized, seed, true, limit);
        const again = runProgram(optimized, seed, true, limit);
        const plain = runProgram(naive, seed, true, limit);
        expect({ seed, limit, outcome: first.outcome }).toEqual({ seed, limit, outcome: { kind: "exhausted" } });
        // Same stopping point: the fuel read at the trap repeats, exceeds the limit and matches the naive instrumentation.
        expect({ seed, limit, fuel: again.fuel, outcome: again.outcome }).toEqual({ seed, limit, fuel: first.fuel, outcome: first.outcome });
        expect({ seed, limit, fuel: plain.fuel, outcome: plain.outcome }).toEqual({ seed, limit, fuel: first.fuel, outcome: first.outcome });
        expect(first.fuel! > limit && first.fuel! <= work).toBe(true);
        checked++;
      }
    }
    console.log(`property: ${checked} budgeted runs stopped deterministically; ${tails} of ${BUDGET_PROGRAMS} programs end with uncheckable straight-line work after the last check`);
    expect(checked).toBeGreaterThan(BUDGET_PROGRAMS);
  });

  it("fuel is linear in the weight table: doubling every cost doubles the fuel", async () => {
    const wabt = await wabtInit();
    for (const seed of [3, 17, 42, 99, 123, 200, 256, 299]) {
      const parsed = wabt.parseWat("p.wat", generateProgram(seed).wat);
      const bytes = Uint8Array.from(parsed.toBinary({}).buffer);
      parsed.destroy();
      const single = runProgram(new WebAssembly.Module(instrument(bytes).bytes), seed, true).fuel!;
      const doubled = runProgram(new WebAssembly.Module(instrument(bytes, { weights: doubledWeights }).bytes), seed, true).fuel!;
      expect({ seed, fuel: doubled }).toEqual({ seed, fuel: 2n * single });
    }
  });
});
