/**
 * Which published OHTTP keys a client may encrypt to: those whose public key is the HPKE key bound
 * in evidence that passed the client's policy. Verdicts come from the attestation cache (results
 * signed by this client's own key, under the same policy) or, failing that, from a fresh
 * GET /system/attestation verified here; fresh results are cached for the next call.
 */
import { randomBytes } from "node:crypto";
import { AttestationCache, parseAttestationAnswer, policyHash, resultClaims, verifyAttestationAnswer } from "../attestation/index.js";
import { decodeKeyConfigs, OHTTP_MEDIA_TYPES, supportsTfaasSuite, type OhttpKeyConfig } from "../confidential/index.js";
import { issueAttestationResult } from "../crypto/index.js";
import { TfaasError } from "../shared/errors.js";
import type { Policy, TrustAnchors } from "../tee/index.js";
import { gatewayFetch, type GatewayTarget } from "./http.js";

/** A worker this client verified: the key to encrypt to and the key its receipts must verify under. */
export interface AttestedWorker {
  workerId: string;
  tee: string;
  measurement: string;
  /** Raw Ed25519 receipt key. */
  receiptKey: Uint8Array;
  config: OhttpKeyConfig;
  /** "cache" when a cached attestation result vouched for it, "fresh" when verified in this call. */
  source: "cache" | "fresh";
}

export interface AttestedKeysOptions {
  policy: Policy;
  trustAnchors: TrustAnchors;
  /** Take the sim platform key from the gateway's answer (INSECURE: proves the plumbing only). */
  trustSimKeyFromGateway?: boolean;
  /** Where attestation results are kept between processes (the CLI's config dir); default in memory only. */
  cache?: AttestationCache;
  /** Lifetime of cached results (default 600 s). */
  ttlSeconds?: number;
}

interface Vouched {
  workerId: string;
  tee: string;
  measurement: string;
  receipt: string;
  hpke: string;
}

const DEFAULT_TTL_SECONDS = 600;

export class AttestedKeys {
  readonly #target: GatewayTarget;
  readonly #options: AttestedKeysOptions;
  readonly #policyHash: string;
  /** Verdicts of this process, by HPKE key (base64url), with their expiry. */
  readonly #memory = new Map<string, Vouched & { until: number }>();

  constructor(target: GatewayTarget, options: AttestedKeysOptions) {
    this.#target = target;
    this.#options = options;
    this.#policyHash = policyHash(options.policy);
  }

  /** The published keys bound to workers that pass the policy; attests afresh when none is vouched for yet. */
  async workers(): Promise<AttestedWorker[]> {
    const configs = await this.#configs();
    let matched = this.#match(configs, await this.#vouched(), "cache");
    if (matched.length > 0) return matched;
    await this.#attest();
    matched = this.#match(configs, await this.#vouched(), "fresh");
    if (matched.length === 0) {
      throw new TfaasError("unauthorized", `Cannot encrypt to ${this.#target.url}: none of the ${configs.length} published OHTTP keys is bound to a worker that passes the policy (run tfaas attest for the verdicts)`);
    }
    return matched;
  }

  async #configs(): Promise<OhttpKeyConfig[]> {
    const response = await gatewayFetch(this.#target, "/system/ohttp-keys", { method: "GET" }, "fetch OHTTP key configurations");
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith(OHTTP_MEDIA_TYPES.keys)) throw new TfaasError("unavailable", `Cannot fetch OHTTP key configurations: current Content-Type is ${JSON.stringify(type)}`);
    return decodeKeyConfigs(new Uint8Array(await response.arrayBuffer())).filter(supportsTfaasSuite);
  }

  async #vouched(): Promise<Vouched[]> {
    const now = Date.now();
    const vouched: Vouched[] = [...this.#memory.values()].filter((entry) => entry.until > now);
    if (this.#options.cache !== undefined) {
      for (const result of await this.#options.cache.results(this.#target.url, "now")) {
        if (result.policyHash !== this.#policyHash || result.boundKeys.hpke === undefined) continue;
        vouched.push({ workerId: result.workerId, tee: result.teeType, measurement: result.measurement, receipt: result.boundKeys.receipt, hpke: result.boundKeys.hpke });
      }
    }
    return vouched;
  }

  #match(configs: OhttpKeyConfig[], vouched: Vouched[], source: AttestedWorker["source"]): AttestedWorker[] {
    const byKey = new Map(vouched.map((entry) => [entry.hpke, entry]));
    return configs.flatMap((config) => {
      const entry = byKey.get(Buffer.from(config.publicKey).toString("base64url"));
      if (entry === undefined) return [];
      return [{ workerId: entry.workerId, tee: entry.tee, measurement: entry.measurement, receiptKey: new Uint8Array(Buffer.from(entry.receipt, "base64url")), config, source }];
    });
  }

  async #attest(): Promise<void> {
    const nonce = randomBytes(32);
    const response = await gatewayFetch(this.#target, `/system/attestation?nonce=${nonce.toString("hex")}`, { method: "GET" }, "fetch attestation evidence");
    const answer = parseAttestationAnswer(await response.json());
    const { policy, trustAnchors } = this.#options;
    const verification = verifyAttestationAnswer(answer, { policy, nonce: new Uint8Array(nonce), trustAnchors, trustSimKeyFromGateway: this.#options.trustSimKeyFromGateway === true });
    const ttl = this.#options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    const passed = verification.workers.filter((worker) => worker.ok && worker.measurement !== undefined);
    for (const worker of passed) {
      this.#memory.set(worker.boundKeys.hpke, { workerId: worker.workerId, tee: worker.tee, measurement: worker.measurement!, receipt: worker.boundKeys.receipt, hpke: worker.boundKeys.hpke, until: Date.now() + ttl * 1000 });
    }
    const cache = this.#options.cache;
    if (cache !== undefined && passed.length > 0) {
      const key = await cache.verifierKey();
      await cache.save(this.#target.url, await Promise.all(passed.map((worker) => issueAttestationResult(resultClaims(worker, policy), key, ttl))));
    }
  }
}
