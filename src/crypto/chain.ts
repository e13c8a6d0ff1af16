/**
 * Chain verification over a set of receipts, grouped by worker: each receipt's proof, then
 * sequence continuity and hash links. A dropped receipt shows as a gap, two receipts for one
 * place in the chain as a fork, a list out of issue order (or a timestamp running backwards) as
 * reordered, the same receipt twice as a duplicate. Receipts that fail their proof take no part
 * in the chain analysis: they are reported as invalid, and the place they claim shows as a gap.
 *
 * Where this stops: receipts dropped after the last one given cannot be detected from receipts
 * alone, nor those before the first one given when it is not seq 1.
 */
import type { KeyObject } from "node:crypto";
import { encodeContent, hashEncoded } from "./canonical.js";
import { toPublicKey, type PublicKeyInput } from "./keys.js";
import { parseReceipt, type SignedReceipt } from "./receipt.js";
import { proofChecks, type BatchSignatureCache, type Check } from "./verify.js";

/** One public key for every receipt, or each worker's key by worker id. */
export type ChainKeys = PublicKeyInput | ReadonlyMap<string, PublicKeyInput>;

export interface ChainGap {
  workerId: string;
  afterSeq: number;
  nextSeq: number;
  missing: number;
}

export interface ChainFork {
  workerId: string;
  seq: number;
  /** `same-seq`: distinct receipts share a seq; `broken-link`: a receipt's prev is none of those at seq - 1. */
  reason: "same-seq" | "broken-link";
  hashes: string[];
}

export interface ChainReorder {
  workerId: string;
  seq: number;
  /** Index in the given list. */
  position: number;
  /** `position`: listed after a receipt with a higher seq; `timestamp`: stamped earlier than its predecessor. */
  reason: "position" | "timestamp";
}

export interface ChainDuplicate {
  workerId: string;
  seq: number;
  hash: string;
  positions: number[];
}

export interface InvalidReceipt {
  position: number;
  workerId: string | null;
  seq: number | null;
  /** Names of the failed checks. */
  failed: string[];
  detail: string;
}

export interface WorkerChain {
  workerId: string;
  firstSeq: number;
  lastSeq: number;
  receipts: number;
  batches: number;
}

export interface ChainVerification {
  ok: boolean;
  workers: WorkerChain[];
  gaps: ChainGap[];
  forks: ChainFork[];
  reordered: ChainReorder[];
  duplicates: ChainDuplicate[];
  invalid: InvalidReceipt[];
  checks: Check[];
}

/** A receipt that passed its proof, with its hash and where it was listed. */
export interface VerifiedEntry {
  position: number;
  receipt: SignedReceipt;
  hash: string;
}

function keyResolver(keys: ChainKeys): (workerId: string) => KeyObject | string {
  const resolved = new Map<string, KeyObject | string>();
  return (workerId) => {
    let key = resolved.get(workerId);
    if (key === undefined) {
      const input = keys instanceof Map ? (keys as ReadonlyMap<string, PublicKeyInput>).get(workerId) : (keys as PublicKeyInput);
      try {
        key = input === undefined ? `no public key for worker ${workerId}` : toPublicKey(input);
      } catch (error) {
        key = (error as Error).message;
      }
      resolved.set(workerId, key);
    }
    return key;
  };
}

function rawField(value: unknown, field: "workerId" | "seq"): unknown {
  const content = typeof value === "object" && value !== null ? (value as { content?: unknown }).content : undefined;
  return typeof content === "object" && content !== null ? (content as Record<string, unknown>)[field] : undefined;
}

function listSeqs(seqs: number[]): string {
  return seqs.length > 5 ? `${seqs.slice(0, 5).join(", ")} and ${seqs.length - 5} more` : seqs.join(", ");
}

/** The chain report plus the receipts that passed their proofs, each once, for the bill. */
export function analyseChain(receipts: readonly unknown[], keys: ChainKeys): { report: ChainVerification; unique: VerifiedEntry[] } {
  const keyFor = keyResolver(keys);
  // One cache per worker, i.e. per key: a root verified under one worker's key says nothing for another's.
  const caches = new Map<string, BatchSignatureCache>();
  const report: ChainVerification = { ok: false, workers: [], gaps: [], forks: [], reordered: [], duplicates: [], invalid: [], checks: [] };
  const byWorker = new Map<string, VerifiedEntry[]>();

  receipts.forEach((value, position) => {
    const workerField = rawField(value, "workerId");
    const seqField = rawField(value, "seq");
    const invalid = (failed: string[], detail: string) =>
      report.invalid.push({ position, workerId: typeof workerField === "string" ? workerField : null, seq: typeof seqField === "number" ? seqField : null, failed, detail });
    let receipt: SignedReceipt;
    try {
      receipt = parseReceipt(value);
    } catch (error) {
      return invalid(["receipt.format"], (error as Error).message);
    }
    const key = keyFor(receipt.content.workerId);
    if (typeof key === "string") return invalid(["receipt.public-key"], key);
    const hash = hashEncoded(encodeContent(receipt.content));
    let cache = caches.get(receipt.content.workerId);
    if (cache === undefined) caches.set(receipt.content.workerId, (cache = new Set()));
    const failed = proofChecks(receipt, hash, key, cache).filter((check) => !check.ok);
    if (failed.length > 0) return invalid(failed.map((check) => check.name), failed.map((check) => check.detail).join("; "));
    const entries = byWorker.get(receipt.content.workerId) ?? [];
    entries.push({ position, receipt, hash: `sha256:${hash.toString("hex")}` });
    byWorker.set(receipt.content.workerId, entries);
  });

  const verifiedCount = [...byWorker.values()].reduce((sum, entries) => sum + entries.length, 0);
  report.checks.push({
    name: "chain.proofs",
    ok: report.invalid.length === 0,
    detail:
      report.invalid.length === 0
        ? `all ${receipts.length} receipts verify`
        : `${verifiedCount} of ${receipts.length} receipts verify; failing at position(s) ${listSeqs(report.invalid.map((i) => i.position))}`,
  });

  const unique: VerifiedEntry[] = [];
  for (const [workerId, entries] of [...byWorker].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    analyseWorker(workerId, entries, report, unique);
  }
  report.ok = report.invalid.length === 0 && report.gaps.length === 0 && report.forks.length === 0 && report.reordered.length === 0 && report.duplicates.length === 0;
  return { report, unique };
}

function analyseWorker(workerId: string, entries: VerifiedEntry[], report: ChainVerification, unique: VerifiedEntry[]): void {
  const byHash = new Map<string, VerifiedEntry[]>();
  for (const entry of entries) byHash.set(entry.hash, [...(byHash.get(entry.hash) ?? []), entry]);
  const distinct: VerifiedEntry[] = [];
  for (const [hash, copies] of byHash) {
    distinct.push(copies[0]!);
    if (copies.length > 1) report.duplicates.push({ workerId, seq: copies[0]!.receipt.content.seq, hash, positions: copies.map((c) => c.position) });
  }
  distinct.sort((a, b) => a.position - b.position);
  unique.push(...distinct);

  let highest = 0;
  for (const entry of distinct) {
    const { seq } = entry.receipt.content;
    if (seq < highest) report.reordered.push({ workerId, seq, position: entry.position, reason: "position" });
    highest = Math.max(highest, seq);
  }

  const bySeq = new Map<number, VerifiedEntry[]>();
  for (const entry of distinct) bySeq.set(entry.receipt.content.seq, [...(bySeq.get(entry.receipt.content.seq) ?? []), entry]);
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const gapsBefore = report.gaps.length;
  const forksBefore = report.forks.length;
  for (const [seq, atSeq] of bySeq) {
    if (atSeq.length > 1) report.forks.push({ workerId, seq, reason: "same-seq", hashes: atSeq.map((e) => e.hash) });
  }
  for (let i = 1; i < seqs.length; i++) {
    const before = bySeq.get(seqs[i - 1]!)!;
    const after = bySeq.get(seqs[i]!)!;
    if (seqs[i]! > seqs[i - 1]! + 1) {
      report.gaps.push({ workerId, afterSeq: seqs[i - 1]!, nextSeq: seqs[i]!, missing: seqs[i]! - seqs[i - 1]! - 1 });
      continue;
    }
    const previousHashes = new Set(before.map((e) => e.hash));
    const latest = Math.max(...before.map((e) => Date.parse(e.receipt.content.timestamp)));
    for (const entry of after) {
      if (!previousHashes.has(entry.receipt.content.prev ?? "")) report.forks.push({ workerId, seq: seqs[i]!, reason: "broken-link", hashes: [entry.hash] });
      if (Date.parse(entry.receipt.content.timestamp) < latest) report.reordered.push({ workerId, seq: seqs[i]!, position: entry.position, reason: "timestamp" });
    }
  }

  const firstSeq = seqs[0]!;
  const lastSeq = seqs[seqs.length - 1]!;
  const batches = new Set(distinct.map((e) => (e.receipt.proof.mode === "batched" ? e.receipt.proof.root : e.hash))).size;
  report.workers.push({ workerId, firstSeq, lastSeq, receipts: distinct.length, batches });
  const gaps = report.gaps.slice(gapsBefore);
  const forks = report.forks.slice(forksBefore);
  const reordered = report.reordered.filter((r) => r.workerId === workerId);
  const duplicates = report.duplicates.filter((d) => d.workerId === workerId);
  report.checks.push(
    {
      name: "chain.start",
      ok: true,
      detail:
        firstSeq === 1
          ? `worker ${workerId}: chain starts at seq 1`
          : `worker ${workerId}: chain starts at seq ${firstSeq}; receipts before it were not given, so drops before it cannot be detected`,
    },
    {
      name: "chain.continuity",
      ok: gaps.length === 0,
      detail:
        gaps.length === 0
          ? `worker ${workerId}: seq ${firstSeq}–${lastSeq} without gaps`
          : `worker ${workerId}: ${gaps.reduce((sum, g) => sum + g.missing, 0)} receipt(s) missing after seq ${listSeqs(gaps.map((g) => g.afterSeq))}`,
    },
    {
      name: "chain.links",
      ok: forks.length === 0,
      detail:
        forks.length === 0
          ? `worker ${workerId}: every receipt links to its predecessor, one receipt per seq`
          : `worker ${workerId}: forked at seq ${listSeqs(forks.map((f) => f.seq))}`,
    },
    {
      name: "chain.order",
      ok: reordered.length === 0,
      detail: reordered.length === 0 ? `worker ${workerId}: listed in issue order` : `worker ${workerId}: out of order at seq ${listSeqs(reordered.map((r) => r.seq))}`,
    },
    {
      name: "chain.duplicates",
      ok: duplicates.length === 0,
      detail: duplicates.length === 0 ? `worker ${workerId}: no receipt listed twice` : `worker ${workerId}: listed more than once at seq ${listSeqs(duplicates.map((d) => d.seq))}`,
    },
  );
}

/**
 * Verifies every receipt's proof and each worker's chain. Receipts may be stored JSON values
 * (each is checked with `parseReceipt`) and are expected in the order they were issued, as the
 * ledger stores them; `ok` only when nothing at all was found.
 */
export function verifyChain(receipts: readonly unknown[], keys: ChainKeys): ChainVerification {
  return analyseChain(receipts, keys).report;
}
