/**
 * `tfaas receipt verify <file|callId>`: checks a receipt's signature or Merkle proof under the key
 * of an attested worker (from the cached attestation results, else a fresh `tfaas attest`), the
 * request and response digests when the bodies are given, and its link to the previous receipt of
 * its worker's chain in the gateway's ledger. Prints every check; exit 1 when any fails.
 */
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import type { CachedResult } from "../../attestation/index.js";
import { decodeReceiptHeader, parseReceipt, receiptHash, verifyReceipt, type Check, type SignedReceipt } from "../../crypto/index.js";
import { TfaasError, asTfaasError } from "../../shared/errors.js";
import type { CliIo } from "../io.js";
import { writeJson } from "../output.js";
import { addVerifierOptions, attest, attestationCache, gatewayJson, gatewayOf, type Gateway, type VerifierFlags } from "./attest.js";

interface ReceiptVerifyFlags extends VerifierFlags {
  request?: string;
  response?: string;
  chain: boolean;
  json?: boolean;
}

/** How far back the ledger is searched for a receipt's predecessor. */
const CHAIN_LOOKBACK_MS = 3_600_000;

export function registerReceipt(program: Command, io: CliIo): void {
  const receipt = program.command("receipt").description("work with signed usage receipts");
  addVerifierOptions(
    receipt
      .command("verify <receipt>")
      .description("verify a receipt (a file with its JSON or X-Tfaas-Receipt form, or a call id) against an attested worker key")
      .option("--request <file>", "the request body, to check the request digest")
      .option("--response <file>", "the response body, to check the response digest")
      .option("--no-chain", "skip the check against the previous receipt in the gateway's ledger")
      .option("--json", "print the checks as JSON"),
  ).action(async (source: string, flags: ReceiptVerifyFlags) => {
    const gateway = await gatewayOf(io, flags);
    const signed = await loadReceipt(gateway, source);
    const checks: Check[] = [];
    const key = await attestedKey(io, gateway, flags, signed.content.workerId);
    checks.push(key.check);
    if (key.result !== undefined) {
      const request = flags.request !== undefined ? await readFile(flags.request) : undefined;
      const response = flags.response !== undefined ? await readFile(flags.response) : undefined;
      const verification = verifyReceipt(signed, {
        publicKey: new Uint8Array(Buffer.from(key.result.boundKeys.receipt, "base64url")),
        ...(request !== undefined ? { request } : {}),
        ...(response !== undefined ? { response } : {}),
      });
      checks.push(...verification.checks);
    }
    if (flags.chain) checks.push(await chainLink(gateway, signed, key.result?.boundKeys.receipt));
    const ok = checks.every((check) => check.ok);
    if (flags.json === true) writeJson(io, { ok, callId: signed.content.callId, workerId: signed.content.workerId, seq: signed.content.seq, checks });
    else {
      const lines = [`receipt for call ${signed.content.callId} (${signed.content.function}), worker ${signed.content.workerId}, seq ${signed.content.seq}`];
      for (const check of checks) lines.push(`${check.ok ? "✓" : "✗"} ${check.name}: ${check.detail}`);
      lines.push(ok ? "verdict: PASS" : "verdict: FAIL");
      io.stdout.write(lines.join("\n") + "\n");
    }
    if (!ok) throw new TfaasError("unauthorized", `Cannot accept receipt: failed checks are ${checks.filter((check) => !check.ok).map((check) => check.name).join(", ")}`);
  });
}

/** A receipt from a file (JSON, or the compact header form) or, when no such file exists, by call id from the gateway. */
async function loadReceipt(gateway: Gateway, source: string): Promise<SignedReceipt> {
  const isFile = await stat(source).then((info) => info.isFile(), () => false);
  if (!isFile) {
    return parseReceipt(await gatewayJson(gateway, `/system/receipts/${encodeURIComponent(source)}`, `fetch the receipt of call ${source}`));
  }
  const text = (await readFile(source, "utf8")).trim();
  if (text.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new TfaasError("invalid-request", `Cannot read receipt ${source}: current content is not JSON`, { cause });
    }
    return parseReceipt(json);
  }
  return decodeReceiptHeader(text);
}

/** The worker's attested receipt key: a current cached result, else a fresh attestation, else a past result (said so). */
async function attestedKey(io: CliIo, gateway: Gateway, flags: VerifierFlags, workerId: string): Promise<{ result?: CachedResult; check: Check }> {
  const cache = attestationCache(io);
  const find = async (at: "now" | "issued") => (await cache.results(gateway.url, at)).filter((result) => result.workerId === workerId).at(-1);
  let result = await find("now");
  let fresh = "";
  if (result === undefined) {
    try {
      const outcome = await attest(io, gateway, flags);
      if (!outcome.verification.ok) fresh = " (a fresh attestation failed: run tfaas attest for details)";
    } catch (error) {
      fresh = ` (a fresh attestation failed: ${asTfaasError(error).message})`;
    }
    result = await find("now");
  }
  if (result !== undefined) {
    return { result, check: { name: "attestation.bound-key", ok: true, detail: `key of ${workerId} attested (${result.teeType}, measurement ${result.measurement}) until ${result.expiresAt.toISOString()}` } };
  }
  result = await find("issued");
  if (result !== undefined) {
    return { result, check: { name: "attestation.bound-key", ok: true, detail: `key of ${workerId} was attested at ${result.issuedAt.toISOString()} (result expired; the worker is gone or not re-attested)` } };
  }
  return { check: { name: "attestation.bound-key", ok: false, detail: `no attestation result binds the key of worker ${workerId}${fresh}` } };
}

/** The receipt's `prev` must be the hash of its worker's previous receipt in the ledger (or null at seq 1). */
async function chainLink(gateway: Gateway, signed: SignedReceipt, receiptKey: string | undefined): Promise<Check> {
  const { seq, prev, workerId, timestamp } = signed.content;
  if (seq === 1) return { name: "chain.link", ok: prev === null, detail: prev === null ? "first receipt of its worker's chain" : "seq 1 must have no previous receipt" };
  const at = Date.parse(timestamp);
  const since = new Date(at - CHAIN_LOOKBACK_MS).toISOString();
  const until = new Date(at + 60_000).toISOString();
  let listed: unknown;
  try {
    listed = await gatewayJson(gateway, `/system/receipts?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}&limit=100000`, "list receipts");
  } catch (error) {
    return { name: "chain.link", ok: false, detail: `cannot read the ledger: ${asTfaasError(error).message}` };
  }
  const previous = (Array.isArray(listed) ? listed : []).flatMap((entry) => {
    try {
      const receipt = parseReceipt(entry);
      return receipt.content.workerId === workerId && receipt.content.seq === seq - 1 ? [receipt] : [];
    } catch {
      return [];
    }
  });
  if (previous.length === 0) return { name: "chain.link", ok: false, detail: `receipt seq ${seq - 1} of worker ${workerId} is missing from the ledger (dropped?)` };
  // The predecessor must also be the worker's own statement, when its key is known.
  const linked = previous.filter(
    (receipt) => receiptHash(receipt.content) === prev && (receiptKey === undefined || verifyReceipt(receipt, { publicKey: new Uint8Array(Buffer.from(receiptKey, "base64url")) }).ok),
  );
  if (previous.length > 1) return { name: "chain.link", ok: false, detail: `${previous.length} different receipts claim seq ${seq - 1} of worker ${workerId} (fork)` };
  return linked.length === 1
    ? { name: "chain.link", ok: true, detail: `prev is the hash of seq ${seq - 1} in the ledger` }
    : { name: "chain.link", ok: false, detail: `prev is not the hash of a valid seq ${seq - 1} in the ledger (altered or forked chain)` };
}
