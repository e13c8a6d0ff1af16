/**
 * Random valid WebAssembly programs (WAT text) for property tests of the metering instrumenter.
 * A program has a few functions; `main (param i32) (result i64)` is function 0 and each
 * function only calls functions after it, so there is no recursion. Loops run a bounded number
 * of times on a counter local nothing else touches, and every other branch goes forward (to a
 * block or `if` label), so every program terminates. A work estimate per function bounds the
 * total number of executed instructions.
 *
 * Floating-point values never reach memory or the result except through comparisons and
 * saturating truncation, because NaN payloads are not deterministic across engines and tiers.
 * A small share of programs can trap (unguarded division, unmasked addresses, `unreachable`).
 */

/** Mulberry32: small, fast, and good enough to spread program shapes. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("Cannot pick from an empty list");
    return item;
  }
}

type ValType = "i32" | "i64" | "f64";

interface Signature {
  name: string;
  params: ValType[];
  result: ValType;
  /** Upper bound on the instructions one call executes (including callees). */
  work: number;
}

const MAX_WORK_PER_FUNCTION = 30_000;
const MEMORY_MASK = 0xfff0; // addresses stay inside the single page, with room for an 8-byte access at offset ≤ 8

class FunctionBuilder {
  readonly locals: ValType[];
  private counters = 0;
  private labels: string[] = [];
  private nextLabel = 0;
  private multiplier = 1;
  private loopDepth = 0;
  work = 0;

  constructor(
    private readonly rng: Rng,
    readonly signature: Signature,
    private readonly callees: Signature[],
    private readonly trapRate: number,
  ) {
    this.locals = [...signature.params];
    const extra = 1 + rng.int(4);
    for (let index = 0; index < extra; index++) this.locals.push(rng.pick(["i32", "i64", "f64"] as const));
  }

  private count(instructions = 1): void {
    this.work += this.multiplier * instructions;
  }

  private localOf(type: ValType): number | undefined {
    const candidates = this.locals.flatMap((t, index) => (t === type ? [index] : []));
    return candidates.length === 0 ? undefined : this.rng.pick(candidates);
  }

  private constant(type: ValType): string {
    const { rng } = this;
    if (type === "i32") return `(i32.const ${rng.pick([0, 1, 2, 7, -1, 255, 0x7fffffff, -0x80000000, rng.next() | 0])})`;
    if (type === "i64") return `(i64.const ${rng.pick(["0", "1", "-1", "9223372036854775807", String(BigInt.asIntN(64, (BigInt(rng.next()) << 32n) | BigInt(rng.next())))])})`;
    return `(f64.const ${rng.pick(["0", "-0", "1.5", "-2.25", "1e300", "inf", "-inf", "nan", String(rng.int(1000) / 7)])})`;
  }

  private address(depth: number): string {
    this.count(2);
    if (this.rng.chance(this.trapRate)) return this.expr("i32", depth - 1);
    return `(i32.and ${this.expr("i32", depth - 1)} (i32.const ${MEMORY_MASK}))`;
  }

  private call(depth: number, want: ValType | undefined): string | undefined {
    const options = this.callees.filter((callee) => (want === undefined || callee.result === want) && this.work + this.multiplier * (callee.work + 10) <= MAX_WORK_PER_FUNCTION);
    if (options.length === 0) return undefined;
    const callee = this.rng.pick(options);
    this.count(callee.work + 1);
    return `(call $${callee.name} ${callee.params.map((type) => this.expr(type, depth - 1)).join(" ")})`;
  }

  expr(type: ValType, depth: number): string {
    const { rng } = this;
    this.count();
    if (depth <= 0 || rng.chance(0.25)) {
      const local = rng.chance(0.6) ? this.localOf(type) : undefined;
      if (local !== undefined) return `(local.get ${local})`;
      if (type === "i64" && rng.chance(0.2)) return "(global.get $g)";
      return this.constant(type);
    }
    const sub = (t: ValType) => this.expr(t, depth - 1);
    if (rng.chance(0.06)) {
      const called = this.call(depth, type);
      if (called !== undefined) return called;
    }
    if (rng.chance(0.08)) return `(select ${sub(type)} ${sub(type)} ${sub("i32")})`;
    if (type === "i32") {
      switch (rng.int(9)) {
        case 0:
          return `(${rng.pick(["i32.add", "i32.sub", "i32.mul", "i32.and", "i32.or", "i32.xor", "i32.shl", "i32.shr_s", "i32.shr_u", "i32.rotl"])} ${sub("i32")} ${sub("i32")})`;
        case 1:
          return `(${rng.pick(["i32.lt_s", "i32.gt_u", "i32.eq", "i32.ne", "i32.le_s"])} ${sub("i32")} ${sub("i32")})`;
        case 2:
          return `(${rng.pick(["i64.lt_s", "i64.ge_u", "i64.eq"])} ${sub("i64")} ${sub("i64")})`;
        case 3:
          return `(${rng.pick(["f64.lt", "f64.ge", "f64.eq", "f64.ne"])} ${sub("f64")} ${sub("f64")})`;
        case 4:
          return `(${rng.pick(["i32.eqz", "i32.clz", "i32.popcnt", "i32.extend8_s", "i32.extend16_s"])} ${sub("i32")})`;
        case 5:
          return rng.chance(0.5) ? `(i32.wrap_i64 ${sub("i64")})` : `(i32.trunc_sat_f64_s ${sub("f64")})`;
        case 6:
          return `(${rng.pick(["i32.load", "i32.load8_u", "i32.load16_s"])} offset=${rng.int(9)} ${this.address(depth)})`;
        case 7:
          return this.division("i32", depth);
        default:
          return `(i32.add ${sub("i32")} ${this.constant("i32")})`;
      }
    }
    if (type === "i64") {
      switch (rng.int(7)) {
        case 0:
          return `(${rng.pick(["i64.add", "i64.sub", "i64.mul", "i64.and", "i64.or", "i64.xor", "i64.shl", "i64.shr_u", "i64.rotr"])} ${sub("i64")} ${sub("i64")})`;
        case 1:
          return `(${rng.pick(["i64.extend_i32_s", "i64.extend_i32_u"])} ${sub("i32")})`;
        case 2:
          return `(i64.trunc_sat_f64_s ${sub("f64")})`;
        case 3:
          return `(${rng.pick(["i64.load", "i64.load32_u", "i64.load8_s"])} offset=${rng.int(9)} ${this.address(depth)})`;
        case 4:
          return this.division("i64", depth);
        case 5:
          return `(${rng.pick(["i64.clz", "i64.popcnt", "i64.extend32_s"])} ${sub("i64")})`;
        default:
          return `(i64.add ${sub("i64")} ${this.constant("i64")})`;
      }
    }
    switch (rng.int(5)) {
      case 0:
        return `(${rng.pick(["f64.add", "f64.sub", "f64.mul", "f64.div", "f64.min", "f64.max"])} ${sub("f64")} ${sub("f64")})`;
      case 1:
        return `(${rng.pick(["f64.sqrt", "f64.abs", "f64.neg", "f64.floor", "f64.nearest"])} ${sub("f64")})`;
      case 2:
        return rng.chance(0.5) ? `(f64.convert_i32_s ${sub("i32")})` : `(f64.convert_i64_u ${sub("i64")})`;
      case 3:
        return `(f64.load offset=${rng.int(9)} ${this.address(depth)})`;
      default:
        return `(f64.add ${sub("f64")} ${this.constant("f64")})`;
    }
  }

  /** Division: usually with a divisor forced odd (never zero); sometimes unguarded, which may trap. */
  private division(type: "i32" | "i64", depth: number): string {
    const op = `${type}.${this.rng.pick(["div_s", "div_u", "rem_s", "rem_u"])}`;
    const divisor = this.expr(type, depth - 1);
    const guarded = this.rng.chance(this.trapRate) ? divisor : `(${type}.or ${divisor} (${type}.const 1))`;
    return `(${op} ${this.expr(type, depth - 1)} ${guarded})`;
  }

  private statements(depth: number, count: number): string {
    const out: string[] = [];
    for (let index = 0; index < count; index++) out.push(this.statement(depth));
    return out.join(" ");
  }

  private fresh(prefix: string): string {
    return `$${prefix}${this.nextLabel++}`;
  }

  private forwardLabel(): string | undefined {
    return this.labels.length === 0 ? undefined : this.rng.pick(this.labels);
  }

  statement(depth: number): string {
    const { rng } = this;
    this.count();
    const sub = (d: number) => this.statement(d);
    const choice = depth <= 0 ? rng.int(4) : rng.int(11);
    switch (choice) {
      case 0:
      case 1: {
        const local = rng.int(this.locals.length);
        return `(local.set ${local} ${this.expr(this.locals[local] ?? "i32", 3)})`;
      }
      case 2: {
        const type = rng.pick(["i32", "i64"] as const);
        const op = type === "i32" ? rng.pick(["i32.store", "i32.store8", "i32.store16"]) : rng.pick(["i64.store", "i64.store32"]);
        return `(${op} offset=${rng.int(9)} ${this.address(2)} ${this.expr(type, 2)})`;
      }
      case 3:
        return `(global.set $g (i64.add (global.get $g) ${this.expr("i64", 2)}))`;
      case 4: {
        const label = this.fresh("if");
        this.labels.push(label);
        const thenPart = this.statements(depth - 1, 1 + rng.int(3));
        const elsePart = rng.chance(0.5) ? ` (else ${this.statements(depth - 1, 1 + rng.int(2))})` : "";
        this.labels.pop();
        return `(if ${label} ${this.expr("i32", 2)} (then ${thenPart})${elsePart})`;
      }
      case 5:
      case 6: {
        const label = this.fresh("b");
        this.labels.push(label);
        const parts = [this.statements(depth - 1, 1 + rng.int(2)), `(br_if ${this.forwardLabel() ?? label} ${this.expr("i32", 2)})`, this.statements(depth - 1, rng.int(3))];
        this.labels.pop();
        return `(block ${label} ${parts.join(" ")})`;
      }
      case 7:
      case 8:
        return this.loop(depth);
      case 9:
        return this.switch(depth);
      default: {
        const called = this.call(3, undefined);
        if (called !== undefined) return `(drop ${called})`;
        if (rng.chance(this.trapRate)) return `(if ${this.expr("i32", 2)} (then unreachable))`;
        return `(local.set 0 ${this.expr(this.locals[0] ?? "i32", 2)})`;
      }
    }
  }

  /** A loop that runs 1..6 times on its own counter local; only the back edge targets it. */
  private loop(depth: number): string {
    const trips = this.loopDepth >= 3 ? 1 : 1 + this.rng.int(6);
    const counter = this.locals.length + this.counters++;
    const label = this.fresh("l");
    const outer = this.multiplier;
    this.multiplier *= trips;
    this.loopDepth++;
    const body = this.statements(depth - 1, 1 + this.rng.int(3));
    this.loopDepth--;
    this.multiplier = outer;
    this.count(6 * trips);
    return (
      `(local.set ${counter} (i32.const ${trips})) ` +
      `(loop ${label} ${body} (br_if ${label} (i32.gt_s (local.tee ${counter} (i32.sub (local.get ${counter}) (i32.const 1))) (i32.const 0))))`
    );
  }

  /** Nested blocks dispatched by a br_table; targets include enclosing forward labels. */
  private switch(depth: number): string {
    const arms = 2 + this.rng.int(3);
    const names = Array.from({ length: arms }, () => this.fresh("s"));
    const targets = Array.from({ length: 1 + this.rng.int(5) }, () => (this.rng.chance(0.2) ? (this.forwardLabel() ?? this.rng.pick(names)) : this.rng.pick(names)));
    const fallback = this.rng.pick(names);
    let text = `(br_table ${[...targets, fallback].join(" ")} ${this.expr("i32", 2)})`;
    // names[0] is innermost; after closing each block, the code of that arm follows and may
    // still branch to the blocks around it.
    for (const name of [...names].reverse()) this.labels.push(name);
    for (const name of names) {
      this.labels.pop();
      text = `(block ${name} ${text}) ${this.statements(depth - 1, 1)}`;
    }
    return text;
  }

  render(): string {
    const body = this.statements(3, 2 + this.rng.int(4));
    const result = this.expr(this.signature.result, 3);
    this.work += 10;
    const params = this.signature.params.map((type) => `(param ${type})`).join(" ");
    const locals = [...this.locals.slice(this.signature.params.length), ...Array.from({ length: this.counters }, () => "i32" as const)]
      .map((type) => `(local ${type})`)
      .join(" ");
    return `(func $${this.signature.name} ${params} (result ${this.signature.result}) ${locals} ${body} ${result})`;
  }
}

export interface GeneratedProgram {
  seed: number;
  wat: string;
  /** Upper bound on executed instructions of one `main` call. */
  workBound: number;
}

/**
 * A program for `seed`. `trapRate` is the chance that a division, address or statement is left
 * unguarded (0 for programs that never trap).
 */
export function generateProgram(seed: number, trapRate = 0.02): GeneratedProgram {
  const rng = new Rng(seed);
  const count = 1 + rng.int(4);
  const functions: string[] = [];
  const signatures: Signature[] = [];
  for (let index = count - 1; index >= 0; index--) {
    const signature: Signature =
      index === 0
        ? { name: "main", params: ["i32"], result: "i64", work: 0 }
        : { name: `f${index}`, params: Array.from({ length: rng.int(4) }, () => rng.pick(["i32", "i64", "f64"] as const)), result: rng.pick(["i32", "i64", "f64"] as const), work: 0 };
    const builder = new FunctionBuilder(rng, signature, [...signatures], trapRate);
    functions.unshift(builder.render());
    signature.work = builder.work;
    signatures.push(signature);
  }
  const main = signatures.at(-1)!;
  const wat = [
    "(module",
    '  (memory (export "memory") 1)',
    "  (global $g (mut i64) (i64.const 0))",
    ...functions.map((text) => `  ${text}`),
    '  (func (export "run") (param i32) (result i64) (i64.add (call $main (local.get 0)) (global.get $g))))',
  ].join("\n");
  return { seed, wat, workBound: main.work };
}
