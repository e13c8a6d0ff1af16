/**
 * A bill recomputed from receipts alone (`tfaas usage --verify`): totals per function over a
 * time range, counting only receipts whose proofs verify, each once, and flagging everything the
 * chain analysis found. The range selects by the receipts' own timestamps, i.e. the workers'
 * clocks; sums are decimal strings because they can outgrow 2^53.
 */
import { TfaasError } from "../shared/errors.js";
import { analyseChain, type ChainKeys, type ChainVerification } from "./chain.js";

export interface FunctionTotals {
  function: string;
  calls: number;
  /** Sum of fuel over the calls that report it. */
  fuel: string;
  /** Calls from engines without fuel counting. */
  callsWithoutFuel: number;
  memoryPeakBytesMax: number;
  ioBytesIn: string;
  ioBytesOut: string;
  wallNanos: string;
  /** Weight tables that priced this fuel; more than one means the fuel sum mixes units (flagged). */
  weightsVersions: string[];
}

export type BillFlagKind = "invalid" | "gap" | "fork" | "reordered" | "duplicate" | "mixed-weights";

export interface BillFlag {
  kind: BillFlagKind;
  workerId: string | null;
  detail: string;
}

export interface BillOptions {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  keys: ChainKeys;
}

export interface Bill {
  /** True when nothing was flagged. */
  ok: boolean;
  from: string;
  to: string;
  /** Sorted by function name. */
  functions: FunctionTotals[];
  flags: BillFlag[];
  chain: ChainVerification;
}

interface Accumulator {
  calls: number;
  fuel: bigint;
  callsWithoutFuel: number;
  memoryPeakBytesMax: number;
  ioBytesIn: bigint;
  ioBytesOut: bigint;
  wallNanos: bigint;
  weightsVersions: Set<string>;
}

/**
 * Give every receipt of the workers concerned (ideally each chain from seq 1), not only those in
 * the range: the chain is checked over all of them, and the range then picks what is billed.
 */
export function recomputeBill(receipts: readonly unknown[], options: BillOptions): Bill {
  const from = options.from.getTime();
  const to = options.to.getTime();
  if (!(from <= to)) {
    throw new TfaasError("invalid-request", `Cannot recompute bill: the range must be two valid times, from ≤ to; current values are ${String(options.from)} and ${String(options.to)}`);
  }
  const { report, unique } = analyseChain(receipts, options.keys);
  const totals = new Map<string, Accumulator>();
  for (const { receipt } of unique) {
    const { content } = receipt;
    const at = Date.parse(content.timestamp);
    if (at < from || at >= to) continue;
    let sum = totals.get(content.function);
    if (sum === undefined) {
      sum = { calls: 0, fuel: 0n, callsWithoutFuel: 0, memoryPeakBytesMax: 0, ioBytesIn: 0n, ioBytesOut: 0n, wallNanos: 0n, weightsVersions: new Set() };
      totals.set(content.function, sum);
    }
    const { usage } = content;
    sum.calls++;
    if (usage.fuel === null) sum.callsWithoutFuel++;
    else sum.fuel += BigInt(usage.fuel);
    if (usage.weightsVersion !== null) sum.weightsVersions.add(usage.weightsVersion);
    sum.memoryPeakBytesMax = Math.max(sum.memoryPeakBytesMax, usage.memoryPeakBytes);
    sum.ioBytesIn += BigInt(usage.ioBytesIn);
    sum.ioBytesOut += BigInt(usage.ioBytesOut);
    sum.wallNanos += BigInt(usage.wallNanos);
  }

  const functions: FunctionTotals[] = [...totals]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, sum]) => ({
      function: name,
      calls: sum.calls,
      fuel: sum.fuel.toString(),
      callsWithoutFuel: sum.callsWithoutFuel,
      memoryPeakBytesMax: sum.memoryPeakBytesMax,
      ioBytesIn: sum.ioBytesIn.toString(),
      ioBytesOut: sum.ioBytesOut.toString(),
      wallNanos: sum.wallNanos.toString(),
      weightsVersions: [...sum.weightsVersions].sort(),
    }));

  const flags: BillFlag[] = [
    ...report.invalid.map((i): BillFlag => ({ kind: "invalid", workerId: i.workerId, detail: `receipt at position ${i.position} not counted: ${i.detail}` })),
    ...report.gaps.map((g): BillFlag => ({ kind: "gap", workerId: g.workerId, detail: `${g.missing} receipt(s) missing between seq ${g.afterSeq} and ${g.nextSeq}` })),
    ...report.forks.map((f): BillFlag => ({ kind: "fork", workerId: f.workerId, detail: f.reason === "same-seq" ? `${f.hashes.length} different receipts claim seq ${f.seq}` : `receipt at seq ${f.seq} does not link to its predecessor` })),
    ...report.reordered.map((r): BillFlag => ({ kind: "reordered", workerId: r.workerId, detail: r.reason === "position" ? `seq ${r.seq} listed after a later receipt (position ${r.position})` : `seq ${r.seq} stamped earlier than seq ${r.seq - 1}` })),
    ...report.duplicates.map((d): BillFlag => ({ kind: "duplicate", workerId: d.workerId, detail: `seq ${d.seq} listed ${d.positions.length} times, counted once` })),
    ...functions
      .filter((f) => f.weightsVersions.length > 1)
      .map((f): BillFlag => ({ kind: "mixed-weights", workerId: null, detail: `${f.function}: fuel sums weight tables ${f.weightsVersions.join(", ")}` })),
  ];
  return { ok: flags.length === 0, from: options.from.toISOString(), to: options.to.toISOString(), functions, flags, chain: report };
}
