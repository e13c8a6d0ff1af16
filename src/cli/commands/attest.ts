/**
 * `tfaas attest`: fetch every worker's evidence with a fresh random nonce, verify it here against
 * a policy and trust anchors given as files, print a verdict per worker naming every failed check,
 * and cache a short-lived attestation result per verified worker (signed by this client's own
 * verifier key) for `tfaas receipt verify` and `tfaas usage --verify`.
 * `tfaas attest --print-measurement` computes this build's sim measurement, as an operator would.
 */
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import {
  AttestationCache,
  computeRuntimeMeasurement,
  parseAttestationAnswer,
  RECEIPT_MODES,
  resultClaims,
  SIM_WARNING,
  verifyAttestationAnswer,
  type AnswerVerification,
  type ReceiptsSetting,
} from "../../attestation/index.js";
import { issueAttestationResult, MAX_ATTESTATION_RESULT_TTL_SECONDS } from "../../crypto/index.js";
import { TfaasError, isErrorCode } from "../../shared/errors.js";
import { loadPolicy, parsePolicy, TEE_TYPES, type Policy, type TeeType, type TrustAnchors } from "../../tee/index.js";
import { addGatewayOption, type GatewayFlags } from "../connect.js";
import { configDir, resolveCredentials, type Credentials } from "../credentials.js";
import { resolveGatewayUrl } from "../gateway-url.js";
import type { CliIo } from "../io.js";
import { writeJson } from "../output.js";
import { parseInteger } from "../parse-flags.js";

export interface VerifierFlags extends GatewayFlags {
  policy?: string;
  simPlatformKey?: string;
  trustSimKeyFromGateway?: boolean;
  amdArkAsk?: string;
  amdVcek?: string;
  intelRoot?: string;
  intelTcbInfo?: string;
  intelQeIdentity?: string;
  intelTcbSigningChain?: string;
  intelRootCrl?: string;
  intelPckCrl?: string;
  ttl?: number;
}

interface AttestFlags extends VerifierFlags {
  json?: boolean;
  tokenOut?: string;
  printMeasurement?: boolean;
  tee?: string;
  receipts?: string;
}

const DEFAULT_TTL_SECONDS = 600;

/** Policy, trust anchors and cache options, shared by every command that may attest. */
export function addVerifierOptions(command: Command): Command {
  return addGatewayOption(command)
    .option("--policy <file>", "attestation policy (YAML or JSON; docs/attestation.md); default: sim workers running this build's code")
    .option("--sim-platform-key <file>", "the sim platform's key to trust, pinned out of band (PEM public or private key, or 32 raw bytes as hex/base64url)")
    .option("--trust-sim-key-from-gateway", "trust the sim platform key the gateway reports (INSECURE: proves the plumbing only)")
    .option("--amd-ark-ask <file>", "SEV-SNP: AMD's ASK and ARK (one PEM, ASK first)")
    .option("--amd-vcek <file>", "SEV-SNP: the chip's VCEK, when the host does not supply it")
    .option("--intel-root <file>", "TDX/SGX: Intel SGX Root CA (PEM or DER)")
    .option("--intel-tcb-info <file>", "TDX/SGX: PCS TCB info (JSON as served)")
    .option("--intel-qe-identity <file>", "TDX/SGX: PCS QE identity (JSON as served)")
    .option("--intel-tcb-signing-chain <file>", "TDX/SGX: TCB signing chain (PEM)")
    .option("--intel-root-crl <file>", "TDX/SGX: root CA CRL")
    .option("--intel-pck-crl <file>", "TDX/SGX: PCK CA CRL")
    .option("--ttl <seconds>", `how long cached attestation results stay valid (default ${DEFAULT_TTL_SECONDS})`, parseInteger(1, MAX_ATTESTATION_RESULT_TTL_SECONDS));
}

export function registerAttest(program: Command, io: CliIo): void {
  addVerifierOptions(
    program
      .command("attest")
      .description("verify every worker's attestation evidence against a policy and cache the results")
      .option("--json", "print the verification as JSON")
      .option("--token-out <file>", "also write the signed attestation results (one JWT per line)")
      .option("--print-measurement", "print this build's sim measurement (no gateway needed) and exit")
      .option("--tee <type>", "with --print-measurement: the TEE type configured (default sim)")
      .option("--receipts <mode>", "with --print-measurement: the receipt mode configured (default batched)"),
  ).action(async (flags: AttestFlags) => {
    if (flags.printMeasurement === true) return printMeasurement(io, flags);
    const gateway = await gatewayOf(io, flags);
    const outcome = await attest(io, gateway, flags);
    if (flags.tokenOut !== undefined) await writeFile(flags.tokenOut, outcome.tokens.map((token) => token + "\n").join(""), { mode: 0o600 });
    if (flags.json === true) writeJson(io, { ...outcome.verification, cachedResults: outcome.tokens.length });
    else io.stdout.write(formatVerification(outcome.verification, outcome.policyNote));
    if (!outcome.verification.ok) throw new TfaasError("unauthorized", `Cannot trust the workers: ${failures(outcome.verification)}`);
  });
}

async function printMeasurement(io: CliIo, flags: AttestFlags): Promise<void> {
  const tee = flags.tee ?? "sim";
  const receipts = flags.receipts ?? "batched";
  if (!(TEE_TYPES as readonly string[]).includes(tee)) throw new TfaasError("invalid-request", `Cannot compute measurement: --tee must be one of ${TEE_TYPES.join(", ")}, current value is ${JSON.stringify(tee)}`);
  if (!(RECEIPT_MODES as readonly string[]).includes(receipts)) throw new TfaasError("invalid-request", `Cannot compute measurement: --receipts must be one of ${RECEIPT_MODES.join(", ")}, current value is ${JSON.stringify(receipts)}`);
  const measurement = await computeRuntimeMeasurement({ tee: tee as TeeType, receipts: receipts as ReceiptsSetting });
  if (flags.json === true) return writeJson(io, { measurement: measurement.hex, manifest: measurement.manifest });
  io.stdout.write(`${measurement.hex}\n`);
}

export interface Gateway {
  url: string;
  credentials: Credentials | undefined;
}

export async function gatewayOf(io: CliIo, flags: GatewayFlags): Promise<Gateway> {
  const url = resolveGatewayUrl({ flag: flags.gateway, env: io.env });
  return { url, credentials: await resolveCredentials(io.env, url) };
}

function codeFor(status: number): TfaasError["code"] {
  if (status === 400) return "invalid-request";
  if (status === 401) return "unauthorized";
  if (status === 404) return "not-found";
  return status >= 500 ? "unavailable" : "invalid-request";
}

/** GET a /system/* JSON resource with the gateway's credentials. */
export async function gatewayJson(gateway: Gateway, pathname: string, action: string): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (gateway.credentials !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${gateway.credentials.user}:${gateway.credentials.password}`).toString("base64")}`;
  }
  let response: Response;
  try {
    response = await fetch(gateway.url + pathname, { headers });
  } catch (cause) {
    throw new TfaasError("unavailable", `Cannot ${action}: the gateway at ${gateway.url} is unreachable`, { cause });
  }
  if (!response.ok) {
    const text = (await response.text().catch(() => "")).trim().slice(0, 300);
    const sent = response.headers.get("x-tfaas-error");
    const code = sent !== null && isErrorCode(sent) ? sent : codeFor(response.status);
    throw new TfaasError(code, `Cannot ${action}: the gateway answered ${response.status}${text === "" ? "" : `: ${text}`}`);
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new TfaasError("internal", `Cannot ${action}: the gateway's answer is not JSON`, { cause });
  }
}

export function attestationCache(io: CliIo): AttestationCache {
  return new AttestationCache(path.join(configDir(io.env), "attestation"));
}

async function readAnchorFile(file: string | undefined): Promise<Buffer | undefined> {
  return file === undefined ? undefined : readFile(file);
}

/** A sim platform key from a file: PEM (public or private), or 32 raw bytes as hex or base64url text. */
async function simKeyFrom(file: string): Promise<Uint8Array> {
  const text = (await readFile(file, "utf8")).trim();
  if (text.startsWith("-----BEGIN")) {
    const key = text.includes("PRIVATE KEY") ? createPublicKey(createPrivateKey(text)) : createPublicKey(text);
    if (key.asymmetricKeyType !== "ed25519") throw new TfaasError("invalid-request", `Cannot use ${file} as sim platform key: current key type is ${key.asymmetricKeyType ?? "unknown"}, expected ed25519`);
    return new Uint8Array(Buffer.from(key.export({ format: "jwk" }).x ?? "", "base64url"));
  }
  const raw = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64url");
  if (raw.length !== 32) throw new TfaasError("invalid-request", `Cannot use ${file} as sim platform key: current length is ${raw.length} bytes, expected 32`);
  return new Uint8Array(raw);
}

export async function trustAnchorsOf(flags: VerifierFlags): Promise<TrustAnchors> {
  const anchors: TrustAnchors = {};
  if (flags.simPlatformKey !== undefined) anchors.sim = { platformKeys: [await simKeyFrom(flags.simPlatformKey)] };
  const arkAsk = await readAnchorFile(flags.amdArkAsk);
  if (arkAsk !== undefined) {
    const vcek = await readAnchorFile(flags.amdVcek);
    anchors.sevSnp = { ark: arkAsk.toString("utf8"), ask: arkAsk.toString("utf8"), ...(vcek !== undefined ? { vcek: new Uint8Array(vcek) } : {}) };
  }
  const root = await readAnchorFile(flags.intelRoot);
  if (root !== undefined) {
    const text = async (file: string | undefined) => (await readAnchorFile(file))?.toString("utf8");
    const bytes = async (file: string | undefined) => {
      const read = await readAnchorFile(file);
      return read === undefined ? undefined : new Uint8Array(read);
    };
    const [tcbInfo, qeIdentity, tcbSigningChain, rootCrl, pckCrl] = await Promise.all([
      text(flags.intelTcbInfo),
      text(flags.intelQeIdentity),
      text(flags.intelTcbSigningChain),
      bytes(flags.intelRootCrl),
      bytes(flags.intelPckCrl),
    ]);
    anchors.intel = {
      rootCa: new Uint8Array(root),
      ...(tcbInfo !== undefined ? { tcbInfo } : {}),
      ...(qeIdentity !== undefined ? { qeIdentity } : {}),
      ...(tcbSigningChain !== undefined ? { tcbSigningChain } : {}),
      ...(rootCrl !== undefined ? { rootCrl } : {}),
      ...(pckCrl !== undefined ? { pckCrl } : {}),
    };
  }
  return anchors;
}

/** Without --policy: sim workers whose measurement is this build's, under any receipt mode. */
async function defaultPolicy(): Promise<Policy> {
  const measurements = await Promise.all(RECEIPT_MODES.map(async (receipts) => (await computeRuntimeMeasurement({ tee: "sim", receipts })).hex));
  return parsePolicy({ tee: { sim: { measurements } } });
}

export interface AttestOutcome {
  verification: AnswerVerification;
  /** Signed results for the workers that passed, as cached. */
  tokens: string[];
  policyNote: string;
}

/** Fetches, verifies and caches; never throws for failed evidence (see `verification.ok`). */
export async function attest(io: CliIo, gateway: Gateway, flags: VerifierFlags): Promise<AttestOutcome> {
  const policy = flags.policy !== undefined ? await loadPolicy(flags.policy) : await defaultPolicy();
  const policyNote = flags.policy !== undefined ? `policy ${flags.policy}` : "no --policy: expecting sim workers running this build's code";
  const trustAnchors = await trustAnchorsOf(flags);
  const nonce = randomBytes(32);
  const answer = parseAttestationAnswer(await gatewayJson(gateway, `/system/attestation?nonce=${nonce.toString("hex")}`, "fetch attestation evidence"));
  const verification = verifyAttestationAnswer(answer, { policy, nonce: new Uint8Array(nonce), trustAnchors, trustSimKeyFromGateway: flags.trustSimKeyFromGateway === true });
  const cache = attestationCache(io);
  const verifierKey = await cache.verifierKey();
  const ttl = flags.ttl ?? DEFAULT_TTL_SECONDS;
  const tokens = await Promise.all(verification.workers.filter((worker) => worker.ok).map((worker) => issueAttestationResult(resultClaims(worker, policy), verifierKey, ttl)));
  if (tokens.length > 0) await cache.save(gateway.url, tokens);
  if (flags.trustSimKeyFromGateway === true) io.stderr.write("WARNING: --trust-sim-key-from-gateway: the sim platform key was taken from the gateway itself; this verdict proves nothing about the workers.\n");
  return { verification, tokens, policyNote };
}

function failures(verification: AnswerVerification): string {
  const failed = verification.workers.filter((worker) => !worker.ok).map((worker) => `${worker.instance} (${worker.checks.filter((check) => !check.ok).map((check) => check.name).join(", ")})`);
  const missing = verification.unavailable.map((entry) => `${entry.instance} (unavailable)`);
  const all = [...failed, ...missing];
  return all.length > 0 ? `current failures are ${all.join("; ")}` : "current answer lists no workers";
}

export function formatVerification(verification: AnswerVerification, policyNote: string): string {
  const lines: string[] = [];
  if (verification.simulated) lines.push(`WARNING: ${SIM_WARNING}`);
  lines.push(`Checked against ${policyNote}.`);
  for (const worker of verification.workers) {
    const tee = worker.simulated ? `${worker.tee} (SIMULATED)` : worker.tee;
    lines.push(`${worker.ok ? "PASS" : "FAIL"}  ${worker.instance}  ${worker.workerId}  ${tee}  measurement ${worker.measurement ?? "(unreadable)"}`);
    for (const check of worker.checks) if (!check.ok) lines.push(`  ✗ ${check.name}: ${check.detail}`);
  }
  for (const entry of verification.unavailable) lines.push(`FAIL  ${entry.instance}  unavailable: ${entry.message}`);
  const passed = verification.workers.filter((worker) => worker.ok).length;
  lines.push(verification.ok ? `verdict: PASS (${passed} workers attested${verification.simulated ? "; SIMULATED, nothing is protected" : ""})` : "verdict: FAIL");
  return lines.join("\n") + "\n";
}
