/**
 * Confidential functions, cryptographic core: the public face of src/confidential. Wire formats,
 * guarantees and what the gateway still sees: docs/confidential.md.
 *
 * Worker (trusted side)
 * - Hold keys in an `OhttpKeyring` (`{ replayWindow? }`, default 65,536 requests per key):
 *   `keyring.generate(keyId)` or `keyring.add(keyId, x25519PrivateKey)` → `OhttpKeyConfig`.
 *   Bind `config.publicKey` (raw X25519, 32 bytes) into the attestation report data as the HPKE
 *   key; publish `keyring.encodedConfigs()` (`application/ohttp-keys`) beside the attestation.
 * - Per confidential call: `const call = keyring.decapsulate(ohttpReqBytes)` → `call.request`
 *   (binary HTTP; `decodeBhttpRequest` → method, path, headers, content), run the function, then
 *   `call.respond(encodeBhttpResponse({ informational: [], status, headers, content, trailers: [] }))`
 *   → the `message/ohttp-res` body. Compute receipt digests over the plaintext here, inside.
 * - Rotation: `keyring.retire(keyId)`; later requests to it fail as `retired-key`.
 * - Refusals are TfaasErrors (codes survive IPC; `ohttpRejectionOf(error)` gives the reason in
 *   process): malformed / unsupported-suite / request-not-authentic → invalid-request (400),
 *   unknown-key / retired-key → not-found (404), replayed → conflict (409).
 * - Encrypted code: `unwrapKey(wrapped, hpkePrivateKey, { artifactDigest, nonce })` with the
 *   nonce the worker sent the broker in this exchange, then
 *   `openArtifact(ciphertext, key, artifactDigest)` → the code, digest checked.
 *
 * Gateway (untrusted host): routes without decrypting. `readRequestHeader(bytes).keyId` names the
 * key and so the workers that hold it; `OHTTP_MEDIA_TYPES` gives the content types;
 * `isSealedArtifact(bytes)` recognises uploaded ciphertext.
 *
 * Client (`tfaas invoke --confidential`, `tfaas/client`): after verifying the attestation that
 * binds the key, `decodeKeyConfigs(body)` → pick the config; `encapsulateRequest(config,
 * encodeBhttpRequest(req))` → `{ bytes, context }`; send `bytes` as `message/ohttp-req`;
 * `decodeBhttpResponse(context.openResponse(responseBytes))`.
 *
 * Owner and key broker: `sealArtifact(code)` → `{ ciphertext, key, digest }` on the owner's
 * machine; the broker, once the policy admits the worker, `wrapKeyForWorker(key,
 * workerHpkePublicKey, { artifactDigest, nonce })`.
 */
export {
  decodeBhttpRequest,
  decodeBhttpResponse,
  encodeBhttpRequest,
  encodeBhttpResponse,
  type BhttpField,
  type BhttpInformational,
  type BhttpRequest,
  type BhttpResponse,
} from "./bhttp.js";
export { HPKE_SUITE, HpkeContext, setupBaseRecipient, setupBaseSender, type SetupSenderOptions } from "./hpke.js";
export { decodeKeyConfig, decodeKeyConfigs, encodeKeyConfig, encodeKeyConfigs, supportsTfaasSuite, type OhttpKeyConfig, type SymmetricSuite } from "./key-config.js";
export { OhttpKeyring, type OhttpKeyringOptions } from "./keyring.js";
export {
  OHTTP_MEDIA_TYPES,
  decapsulateRequest,
  encapsulateRequest,
  readRequestHeader,
  type DecapsulateOptions,
  type DecapsulatedRequest,
  type EncapsulateOptions,
  type EncapsulatedRequest,
  type OhttpClientContext,
  type OhttpRequestHeader,
  type RespondOptions,
} from "./ohttp.js";
export { OHTTP_REJECTIONS, ohttpRejectionOf, type OhttpRejection } from "./rejection.js";
export { DEFAULT_REPLAY_WINDOW, ReplayWindow } from "./replay-window.js";
export { ARTIFACT_KEY_LENGTH, SEALED_ARTIFACT_VERSION, artifactDigest, isSealedArtifact, openArtifact, sealArtifact, type SealedArtifact } from "./sealed-artifact.js";
export { KEY_WRAP_NONCE_MAX_LENGTH, KEY_WRAP_NONCE_MIN_LENGTH, KEY_WRAP_VERSION, unwrapKey, wrapKeyForWorker, type KeyWrapContext } from "./key-wrap.js";
export { generateX25519KeyPair, rawX25519PublicKey, x25519PrivateKeyFromRaw, x25519PublicKeyFromRaw, type X25519KeyPair } from "./x25519.js";
