/**
 * `tfaas/client`: confidential calls from programs (what `tfaas invoke --confidential` does).
 *
 *   import { ConfidentialClient } from "tfaas/client";
 *   const client = new ConfidentialClient({ url, credentials, policy: parsePolicy(…), trustAnchors: { sim: { platformKeys: [key] } } });
 *   const answer = await client.invoke("echo", { body: "secret", headers: { "content-type": "text/plain" } });
 *   answer.status; answer.body; answer.receipt.ok; answer.worker.measurement;
 *
 * Attestation (src/attestation), the OHTTP keys (GET /system/ohttp-keys), encryption
 * (src/confidential) and receipt verification (src/crypto) happen inside `invoke`. Pass an
 * `AttestationCache` as `cache` to share verdicts across processes (the CLI keeps one in its
 * config dir). Guarantees and what the gateway still sees: docs/confidential.md.
 */
export { AttestationCache } from "../attestation/index.js";
export { parsePolicy, parsePolicyText, loadPolicy, type Policy, type TrustAnchors } from "../tee/index.js";
export { AttestedKeys, type AttestedKeysOptions, type AttestedWorker } from "./attested-keys.js";
export { ConfidentialClient, type ConfidentialClientOptions, type ConfidentialRequest, type ConfidentialResponse, type ReceiptOutcome } from "./confidential-client.js";
export type { GatewayTarget } from "./http.js";
