/**
 * The client's side of GET /system/attestation: every worker's evidence verified against a policy
 * and trust anchors, with the nonce this client chose. Each worker gets a verdict listing every
 * check (src/tee's names, plus `answer.*` for what is wrong with the answer itself); the answer
 * passes only when every worker does and at least one answered.
 *
 * Guarantee stops here: a verdict is as good as the policy's expected measurements and the trust
 * anchors. `trustSimKeyFromGateway` takes the sim platform key from the answer itself, which means
 * trusting the gateway's host: it proves the plumbing, nothing else.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { AttestationResultClaims } from "../crypto/index.js";
import { TfaasError } from "../shared/errors.js";
import { TEE_TYPES, verifyEvidence, type Check, type Policy, type TrustAnchors, type Verdict } from "../tee/index.js";
import { RECEIPT_MODES } from "./config.js";
import type { AttestationAnswer, WorkerAttestation } from "./wire.js";

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "expected base64");
const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, "expected base64url");
const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/, "expected lowercase hex");

const workerSchema = z.object({
  workerId: z.string().min(1),
  instance: z.string().min(1),
  tee: z.enum(TEE_TYPES),
  simulated: z.boolean(),
  summary: z.string(),
  doesNotProtect: z.array(z.string()),
  evidence: base64,
  certificates: z.array(base64),
  boundKeys: z.object({ receipt: base64url, hpke: base64url }),
  nonce: hex,
  measurement: hex,
  runtimeMeasurement: hex,
  receipts: z.enum(RECEIPT_MODES),
  simPlatformKey: z.object({ key: base64url, notice: z.string() }).optional(),
});

const answerSchema = z.object({
  nonce: hex,
  warning: z.string().optional(),
  workers: z.array(workerSchema),
  unavailable: z.array(z.object({ instance: z.string(), code: z.string(), message: z.string() })),
});

/** A gateway's answer, checked for shape (`invalid-request` naming the field). */
export function parseAttestationAnswer(json: unknown): AttestationAnswer {
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TfaasError("invalid-request", `Cannot read attestation answer: ${issue?.path.join(".") || "(answer)"} ${issue?.message ?? "is malformed"}`);
  }
  return parsed.data as AttestationAnswer;
}

export interface WorkerVerdict {
  instance: string;
  workerId: string;
  tee: string;
  simulated: boolean;
  ok: boolean;
  /** The verified measurement (hex), when the evidence could be read. */
  measurement?: string;
  boundKeys: { receipt: string; hpke: string };
  checks: Check[];
  /** Present when verifyEvidence ran. */
  verdict?: Verdict;
  /** What the TEE does not protect (sim: everything), as the worker describes it. */
  doesNotProtect: string[];
}

export interface AnswerVerification {
  ok: boolean;
  workers: WorkerVerdict[];
  /** Workers the gateway could not reach; each makes the answer fail. */
  unavailable: AttestationAnswer["unavailable"];
  /** Set when any worker is simulated. */
  simulated: boolean;
}

export interface VerifyAnswerOptions {
  policy: Policy;
  /** The nonce this client sent. */
  nonce: Uint8Array;
  trustAnchors: TrustAnchors;
  /** Accept the sim platform key each worker reports (no security: the host holds that key). */
  trustSimKeyFromGateway?: boolean;
  now?: Date;
}

function rawKey(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64url"));
}

function verifyWorker(worker: WorkerAttestation, options: VerifyAnswerOptions): WorkerVerdict {
  const base = { instance: worker.instance, workerId: worker.workerId, tee: worker.tee, simulated: worker.simulated, boundKeys: worker.boundKeys, doesNotProtect: worker.doesNotProtect };
  const receiptKey = rawKey(worker.boundKeys.receipt);
  const hpkeKey = rawKey(worker.boundKeys.hpke);
  if (receiptKey.length !== 32 || hpkeKey.length !== 32) {
    const checks = [{ name: "answer.bound-keys", ok: false, detail: `bound keys must be 32 bytes each: current lengths are ${receiptKey.length} and ${hpkeKey.length}` }];
    return { ...base, ok: false, checks };
  }
  let anchors = options.trustAnchors;
  if (options.trustSimKeyFromGateway === true && worker.simPlatformKey !== undefined) {
    anchors = { ...anchors, sim: { platformKeys: [...(anchors.sim?.platformKeys ?? []), rawKey(worker.simPlatformKey.key)] } };
  }
  const verdict = verifyEvidence(
    { type: worker.tee, bytes: new Uint8Array(Buffer.from(worker.evidence, "base64")), certificates: worker.certificates.map((der) => new Uint8Array(Buffer.from(der, "base64"))) },
    {
      policy: options.policy,
      nonce: options.nonce,
      reportedNonce: new Uint8Array(Buffer.from(worker.nonce, "hex")),
      keys: { receiptKey, hpkeKey },
      trustAnchors: anchors,
      ...(options.now !== undefined ? { now: options.now } : {}),
    },
  );
  return {
    ...base,
    ok: verdict.ok,
    simulated: verdict.simulated,
    ...(verdict.claims.measurement !== undefined ? { measurement: verdict.claims.measurement } : {}),
    checks: verdict.checks,
    verdict,
  };
}

export function verifyAttestationAnswer(answer: AttestationAnswer, options: VerifyAnswerOptions): AnswerVerification {
  const workers = answer.workers.map((worker) => verifyWorker(worker, options));
  const ok = workers.length > 0 && answer.unavailable.length === 0 && workers.every((worker) => worker.ok);
  return { ok, workers, unavailable: answer.unavailable, simulated: workers.some((worker) => worker.simulated) };
}

/** `sha256:<hex>` of the policy as validated (defaults filled in), for attestation results. */
export function policyHash(policy: Policy): string {
  return `sha256:${createHash("sha256").update(JSON.stringify(policy)).digest("hex")}`;
}

/** The claims to sign for a worker that passed. */
export function resultClaims(worker: WorkerVerdict, policy: Policy): AttestationResultClaims {
  if (!worker.ok || worker.measurement === undefined) {
    throw new TfaasError("invalid-request", `Cannot issue attestation result for ${worker.workerId}: current verdict is failed`);
  }
  return { workerId: worker.workerId, teeType: worker.tee, measurement: worker.measurement, boundKeys: worker.boundKeys, policyHash: policyHash(policy) };
}
