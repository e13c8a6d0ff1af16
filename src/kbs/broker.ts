/**
 * The key broker: releases an artifact key to a worker only when that worker's fresh evidence
 * satisfies the owner's policy for the artifact, wrapped to the HPKE key the evidence binds.
 * Deny by default: an unknown artifact, a key without a usable policy, a nonce that is unknown,
 * used, expired or issued for another artifact, and any failed check are refused. Every decision
 * is recorded with its reason (never the key). Protocol: src/worker/key-release.ts.
 *
 * Where the guarantee stops: the decision is as good as the policy's expected measurements and the
 * trust anchors (sim evidence is signed by a key on the platform host's disk: a sim policy admits
 * whoever can read that key). The broker does not authenticate who asks; the wrap does the work,
 * since only the attested worker can unwrap. Nonces live in memory: a broker restart forgets the
 * outstanding ones (they become unknown, never reusable).
 */
import { randomBytes } from "node:crypto";
import { wrapKeyForWorker } from "../confidential/index.js";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { TEE_TYPES, verifyEvidence, type TeeType, type TrustAnchors } from "../tee/index.js";
import { KEY_RELEASE_NONCE_LENGTH, challengeRequestSchema, keyRequestSchema, type KeyRequest } from "../worker/key-release.js";
import type { KeyStore } from "./key-store.js";

/** How long a challenge nonce may be used for: evidence is fresh within this. */
export const CHALLENGE_TTL_MS = 60_000;
/** Outstanding challenges kept at most; the oldest go first (a flood only denies, never admits). */
const MAX_OUTSTANDING = 10_000;

export interface KeyBrokerDecision {
  time: string;
  decision: "release" | "deny";
  /** Present once the request named one. */
  artifactDigest?: string;
  workerId?: string;
  tee?: string;
  /** Hex, as the evidence reports it (verified only when the decision is release). */
  measurement?: string;
  reason: string;
  /** The requester's address, when served over HTTP. */
  remote?: string;
}

export interface KeyBrokerOptions {
  keys: KeyStore;
  trustAnchors: TrustAnchors;
  /** Where decisions go; default one log line each (src/shared/log). */
  record?: (decision: KeyBrokerDecision) => void;
  now?: () => number;
}

interface Challenge {
  artifactDigest: string;
  expiresAt: number;
}

function logDecision(decision: KeyBrokerDecision): void {
  const { time: _time, decision: verdict, ...fields } = decision;
  (verdict === "release" ? log.info : log.warn)(`kbs ${verdict}`, fields);
}

export class KeyBroker {
  readonly #keys: KeyStore;
  readonly #anchors: TrustAnchors;
  readonly #record: (decision: KeyBrokerDecision) => void;
  readonly #now: () => number;
  readonly #challenges = new Map<string, Challenge>();

  constructor(options: KeyBrokerOptions) {
    this.#keys = options.keys;
    this.#anchors = options.trustAnchors;
    this.#record = options.record ?? logDecision;
    this.#now = options.now ?? Date.now;
  }

  /** A fresh single-use nonce for a key request about `artifactDigest`. */
  challenge(body: unknown): { nonce: string } {
    const parsed = challengeRequestSchema.safeParse(body);
    if (!parsed.success) throw new TfaasError("invalid-request", "Cannot issue challenge: the request must be {\"artifactDigest\":\"sha256:<64 hex>\"}");
    const now = this.#now();
    for (const [nonce, challenge] of this.#challenges) {
      if (challenge.expiresAt > now && this.#challenges.size < MAX_OUTSTANDING) break;
      this.#challenges.delete(nonce);
    }
    const nonce = randomBytes(KEY_RELEASE_NONCE_LENGTH).toString("base64url");
    this.#challenges.set(nonce, { artifactDigest: parsed.data.artifactDigest, expiresAt: now + CHALLENGE_TTL_MS });
    return { nonce };
  }

  /** The wrapped key, or `forbidden` naming why (also recorded); malformed requests are `invalid-request`. */
  async release(body: unknown, remote?: string): Promise<{ wrappedKey: string }> {
    const base = { ...(remote !== undefined ? { remote } : {}) };
    const parsed = keyRequestSchema.safeParse(body);
    if (!parsed.success) {
      const reason = `malformed key request (${parsed.error.issues[0]?.path.join(".") || "body"})`;
      this.#decide({ decision: "deny", reason, ...base });
      throw new TfaasError("invalid-request", `Cannot release key: ${reason}`);
    }
    const request = parsed.data;
    const about = { ...base, artifactDigest: request.artifactDigest, workerId: request.workerId, tee: request.evidence.type };
    const deny = (reason: string, measurement?: string): never => {
      this.#decide({ decision: "deny", reason, ...about, ...(measurement !== undefined ? { measurement } : {}) });
      throw new TfaasError("forbidden", `Cannot release key for ${request.artifactDigest}: ${reason}`);
    };
    // Consumed before anything else: a nonce answers one request, allowed or not.
    const challenge = this.#challenges.get(request.nonce);
    this.#challenges.delete(request.nonce);
    if (challenge === undefined || challenge.expiresAt <= this.#now()) deny("nonce unknown, already used or expired (replayed evidence?)");
    if (challenge!.artifactDigest !== request.artifactDigest) deny("nonce was issued for another artifact");
    const entry = await this.#keys.get(request.artifactDigest);
    if (entry === undefined) return deny("no key is held for this artifact");
    if (entry.policy === undefined) return deny(`no usable policy for this artifact (deny by default): ${entry.policyProblem ?? "none"}`);
    const policy = entry.policy;
    if (policy.artifactDigests !== undefined && !policy.artifactDigests.includes(request.artifactDigest)) deny("the policy's artifactDigests do not list this artifact");
    if (!(TEE_TYPES as readonly string[]).includes(request.evidence.type)) deny(`evidence type ${JSON.stringify(request.evidence.type.slice(0, 20))} is unknown`);
    const keys = { receiptKey: bytes(request.boundKeys.receipt), hpkeKey: bytes(request.boundKeys.hpke) };
    if (keys.receiptKey.length !== 32 || keys.hpkeKey.length !== 32) deny("bound keys must be 32 bytes each");
    const verdict = verifyEvidence(
      { type: request.evidence.type as TeeType, bytes: bytes(request.evidence.bytes), certificates: request.evidence.certificates.map(bytes) },
      { policy, nonce: bytes(request.nonce), reportedNonce: bytes(request.reportedNonce), keys, trustAnchors: this.#anchors, now: new Date(this.#now()) },
    );
    if (!verdict.ok) {
      const failed = verdict.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`);
      deny(`evidence does not satisfy the policy (${failed.join("; ")})`, verdict.claims.measurement);
    }
    const wrapped = wrapKeyForWorker(entry.key, keys.hpkeKey, { artifactDigest: request.artifactDigest, nonce: bytes(request.nonce) });
    entry.key.fill(0);
    this.#decide({
      decision: "release",
      reason: `evidence satisfies the policy${verdict.simulated ? " (SIMULATED TEE: nothing is protected)" : ""}; key wrapped to the worker's HPKE key`,
      ...about,
      ...(verdict.claims.measurement !== undefined ? { measurement: verdict.claims.measurement } : {}),
    });
    return { wrappedKey: Buffer.from(wrapped).toString("base64url") };
  }

  #decide(decision: Omit<KeyBrokerDecision, "time">): void {
    this.#record({ time: new Date(this.#now()).toISOString(), ...decision });
  }
}

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64url"));
}

export type { KeyRequest };
