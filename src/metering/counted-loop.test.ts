import { describe, expect, it } from "vitest";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { instrument, isFuelExhausted, MeteringExports, readFuel, setFuelLimit } from "./index.js";

/**
 * Every loop shape the counted-loop matcher accepts, run hoisted and naively metered on inputs
 * at the edges of the 32-bit ranges (where counters wrap around), under a budget that stops
 * the loops too long to finish: result, fuel and stopping point must be identical.
 */
const conditions = ["ne", "lt_s", "lt_u", "le_s", "le_u", "gt_s", "gt_u", "ge_s", "ge_u"] as const;
type Condition = (typeof conditions)[number];
const swap: Record<Condition, Condition> = { ne: "ne", lt_s: "gt_s", lt_u: "gt_u", le_s: "ge_s", le_u: "ge_u", gt_s: "lt_s", gt_u: "lt_u", ge_s: "le_s", ge_u: "le_u" };

/** The counter update, leaving i' on the stack: `local.tee`, or `local.set; local.get`. */
const update = (step: string, op: "add" | "sub", form: "tee" | "set") =>
  `local.get $i i32.const ${step} i32.${op} ${form === "tee" ? "local.tee $i" : "local.set $i local.get $i"}`;

interface Shape {
  name: string;
  /** The loop tail before `br_if 0`. */
  tail: string;
}

/** The steps a condition is hoisted with: ranges count by one towards the exit; `ne` also by other steps. */
const stepsOf = (condition: Condition): Array<[string, "add" | "sub"]> =>
  condition === "ne" ? [["1", "add"], ["-1", "add"], ["3", "add"], ["4", "sub"]] : condition.startsWith("l") ? [["1", "add"]] : [["-1", "add"], ["1", "sub"]];

const shapes: Shape[] = [];
for (const condition of conditions) {
  for (const [step, op] of stepsOf(condition)) {
    for (const form of ["tee", "set"] as const) {
      shapes.push({ name: `${condition} ${op} ${step} ${form}, counter first`, tail: `${update(step, op, form)} local.get $n i32.${condition}` });
      shapes.push({ name: `${condition} ${op} ${step} ${form}, bound first`, tail: `local.get $n ${update(step, op, form)} i32.${swap[condition]}` });
    }
  }
}
shapes.push({ name: "br_if on the counter (i' != 0)", tail: update("-1", "add", "tee") });
shapes.push({ name: "b + i' (i' != -b)", tail: `local.get $n ${update("1", "add", "tee")} i32.add` });
shapes.push({ name: "i' + b, set form", tail: `${update("2", "add", "set")} local.get $n i32.add` });
shapes.push({ name: "constant bound", tail: `${update("1", "add", "tee")} i32.const 100 i32.lt_u` });
shapes.push({ name: "constant bound first, down", tail: `i32.const -5 ${update("1", "sub", "tee")} i32.lt_s` });

/** Shapes that look alike but are not counted loops the matcher may hoist; they must still meter exactly. */
const lookalikes: Shape[] = [
  { name: "counting away from the exit", tail: `${update("1", "add", "tee")} local.get $n i32.gt_u` },
  { name: "range with step 2", tail: `${update("2", "add", "tee")} local.get $n i32.lt_u` },
  { name: "bound written in the body", tail: `${update("1", "add", "tee")} local.get $n i32.const 0 i32.add local.tee $n i32.ne` },
  { name: "equality", tail: `${update("1", "add", "tee")} local.get $n i32.eq` },
];

/** A tested-first loop (the shape AssemblyScript emits): the header tests, an `if` runs the body. */
interface TestedFirst {
  name: string;
  /** The header's test of $i, leaving an i32. */
  test: string;
  /** The body's update of $i (or of anything else, in look-alikes). */
  update: string;
}

const testedFirst: TestedFirst[] = [];
for (const condition of conditions) {
  for (const [step, op] of stepsOf(condition)) {
    const body = `local.get $i i32.const ${step} i32.${op} local.set $i`;
    testedFirst.push({ name: `tested first: ${condition} ${op} ${step}, counter first`, test: `local.get $i local.get $n i32.${condition}`, update: body });
    testedFirst.push({ name: `tested first: ${condition} ${op} ${step}, bound first`, test: `local.get $n local.get $i i32.${swap[condition]}`, update: body });
  }
}
testedFirst.push({ name: "tested first: local.get $i alone (i != 0)", test: "local.get $i", update: "local.get $i i32.const -1 i32.add local.set $i" });
testedFirst.push({ name: "tested first: constant bound", test: "local.get $i i32.const 100 i32.lt_s", update: "local.get $i i32.const 1 i32.add local.set $i" });

const testedFirstLookalikes: TestedFirst[] = [
  { name: "tested first: counter written twice", test: "local.get $i local.get $n i32.lt_u", update: "local.get $i i32.const 1 i32.add local.set $i local.get $i local.set $i" },
  { name: "tested first: bound written", test: "local.get $i local.get $n i32.ne", update: "local.get $i i32.const 1 i32.add local.set $i local.get $n i32.const 1 i32.add local.set $n" },
  { name: "tested first: counting away from the exit", test: "local.get $i local.get $n i32.lt_u", update: "local.get $i i32.const -1 i32.add local.set $i" },
  { name: "tested first: equality", test: "local.get $i local.get $n i32.eq", update: "local.get $i i32.const 1 i32.add local.set $i" },
  { name: "tested first: counter not updated", test: "local.get $i local.get $n i32.ne", update: "local.get $n i32.const 1 i32.add local.set $acc" },
];

const testedFirstModule = (list: TestedFirst[]) =>
  wat(`(module (memory 1) ${list
    .map(
      (shape, index) => `(func (export "f${index}") (param $i i32) (param $n i32) (result i32) (local $acc i32)
        (loop $l
          ${shape.test}
          if
            (i32.store (i32.and (local.get $acc) (i32.const 0xfffc)) (local.get $i))
            (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
            ${shape.update}
            br $l
          end)
        (local.get $acc))`,
    )
    .join("\n")})`);

const moduleOf = (list: Shape[]) =>
  wat(`(module (memory 1) ${list
    .map(
      (shape, index) => `(func (export "f${index}") (param $i i32) (param $n i32) (result i32) (local $acc i32)
        (loop $l
          (i32.store (i32.and (local.get $acc) (i32.const 0xfffc)) (local.get $i))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          ${shape.tail}
          br_if $l)
        (local.get $acc))`,
    )
    .join("\n")})`);

const edges = [0, 1, 2, 5, 99, 100, 0x7fff_fffe, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_fffb, 0xffff_fffe, 0xffff_ffff].map((value) => value | 0);

type Fn = (...args: number[]) => number;

function outcome(exports: WebAssembly.Exports, name: string, args: number[], limit: bigint) {
  // Nothing consumed yet: the counter at minus the current limit.
  (exports[MeteringExports.fuel] as WebAssembly.Global).value = -((exports[MeteringExports.fuelLimit] as WebAssembly.Global).value as bigint);
  setFuelLimit(exports, limit);
  let result: number | string;
  try {
    result = (exports[name] as Fn)(...args);
  } catch (error) {
    result = isFuelExhausted(exports, error) ? "exhausted" : (error as Error).message;
  }
  return { result, fuel: readFuel(exports) };
}

/** Runs every function of `original` (one per shape of `list`) on every pair of edge values, hoisted and naive; answers how many completed. */
function compare(list: Array<{ name: string }>, original: Uint8Array): number {
  const hoisted = new WebAssembly.Instance(new WebAssembly.Module(instrument(original).bytes)).exports;
  const naive = new WebAssembly.Instance(new WebAssembly.Module(instrument(original, { optimize: false }).bytes)).exports;
  // Enough for ~1000 iterations of 19 fuel; longer loops (up to 2^32 iterations) stop at the same check.
  const limit = 20_000n;
  let completed = 0;
  list.forEach((shape, index) => {
    for (const from of edges) {
      for (const to of edges) {
        const expected = outcome(naive, `f${index}`, [from, to], limit);
        const actual = outcome(hoisted, `f${index}`, [from, to], limit);
        expect({ shape: shape.name, from, to, ...actual }).toEqual({ shape: shape.name, from, to, ...expected });
        if (typeof expected.result === "number") completed++;
      }
    }
  });
  return completed;
}

describe("counted-loop shapes", () => {
  it("hoists every accepted shape", () => {
    expect(instrument(moduleOf(shapes)).report.hoistedLoops).toBe(shapes.length);
    expect(instrument(moduleOf(lookalikes)).report.hoistedLoops).toBe(0);
    expect(instrument(testedFirstModule(testedFirst)).report.hoistedLoops).toBe(testedFirst.length);
    expect(instrument(testedFirstModule(testedFirstLookalikes)).report.hoistedLoops).toBe(0);
  });

  it("charges exactly what per-iteration metering charges, and stops where it stops, at every edge", () => {
    for (const [list, original] of [
      [shapes, moduleOf(shapes)],
      [testedFirst, testedFirstModule(testedFirst)],
    ] as const) {
      const completed = compare(list, original);
      // Both outcomes must be exercised: loops that finish (hoisted) and loops the budget stops.
      expect(completed).toBeGreaterThan(list.length * 20);
      expect(completed).toBeLessThan(list.length * edges.length * edges.length);
    }
  });

  it("meters look-alike loops per iteration, exactly", () => {
    expect(compare(lookalikes, moduleOf(lookalikes))).toBeGreaterThan(0);
    expect(compare(testedFirstLookalikes, testedFirstModule(testedFirstLookalikes))).toBeGreaterThan(0);
  });
});
