/**
 * GET /system/attestation?nonce=<hex>: fresh evidence from every running worker, binding its
 * receipt and HPKE keys to the verifier's nonce. The gateway only relays: it cannot make evidence
 * verify (a verifier checks it offline; `tfaas attest`), but it could withhold or replay it, which
 * the nonce exposes. Sim workers are reported loudly as simulated, with the platform key labelled
 * as something to pin out of band.
 */
import { SIM_PLATFORM_KEY_NOTICE, SIM_WARNING, type AttestationAnswer, type WorkerAttestation } from "../attestation/index.js";
import { TfaasError } from "../shared/errors.js";
import type { Dispatch } from "../worker/dispatch.js";
import { sendJson, type Route } from "./http.js";

/** 16–64 bytes, as the binding allows. */
const NONCE = /^(?:[0-9a-fA-F]{2}){16,64}$/;
/** Hardware quotes take about a second; a worker that needs far longer is reported, not waited for. */
const ATTEST_TIMEOUT_MS = 15_000;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function attestationRoute(dispatch: Dispatch): Route {
  return {
    pattern: /^\/system\/attestation$/,
    auth: true,
    methods: {
      GET: async ({ res, url }) => {
        const given = url.searchParams.get("nonce");
        if (given === null || !NONCE.test(given)) {
          const shown = given === null ? "missing" : `${given.length} characters`;
          throw new TfaasError("invalid-request", `Cannot attest: nonce must be 32–128 hex digits (16–64 bytes), current value is ${shown}`);
        }
        const nonce = given.toLowerCase();
        const answers = await dispatch.attest(new Uint8Array(Buffer.from(nonce, "hex")), ATTEST_TIMEOUT_MS);
        const workers: WorkerAttestation[] = [];
        const unavailable: AttestationAnswer["unavailable"] = [];
        for (const answer of answers) {
          const { identity, evidence } = answer;
          if (identity === undefined || evidence === undefined) {
            const error = answer.error ?? new TfaasError("internal", `Cannot attest ${answer.instance}: no evidence`);
            unavailable.push({ instance: answer.instance, code: error.code, message: error.message });
            continue;
          }
          workers.push({
            workerId: identity.workerId,
            instance: identity.instance,
            tee: evidence.type,
            simulated: identity.tee.simulated,
            summary: identity.tee.summary,
            doesNotProtect: identity.tee.doesNotProtect,
            evidence: base64(evidence.bytes),
            certificates: evidence.certificates.map(base64),
            boundKeys: identity.boundKeys,
            nonce: Buffer.from(evidence.nonce).toString("hex"),
            measurement: evidence.measurement,
            runtimeMeasurement: identity.runtimeMeasurement,
            receipts: identity.receipts,
            ...(identity.simPlatformKey !== undefined ? { simPlatformKey: { key: identity.simPlatformKey, notice: SIM_PLATFORM_KEY_NOTICE } } : {}),
          });
        }
        const body: AttestationAnswer = {
          nonce,
          ...(workers.some((worker) => worker.simulated) ? { warning: SIM_WARNING } : {}),
          workers,
          unavailable,
        };
        sendJson(res, 200, body);
      },
    },
  };
}
