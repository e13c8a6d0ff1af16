/**
 * The key broker (KBS) for encrypted code: run by the function owner (`tfaas kbs serve`) or
 * embedded (tests, benchmarks). Protocol: src/worker/key-release.ts; guarantees: docs/confidential.md.
 *
 *   const keys = new KeyStore(dir);                                   // <dir>/keys/<hex>.json
 *   await keys.put({ artifactDigest, key, policy });                  // tfaas deploy --encrypt does this
 *   const broker = new KeyBroker({ keys, trustAnchors, record? });    // deny by default, every decision recorded
 *   const server = await serveKeyBroker(broker, { port: 0, host: "127.0.0.1" });   // server.url → com.tfaas.kbs
 */
export { CHALLENGE_TTL_MS, KeyBroker, type KeyBrokerDecision, type KeyBrokerOptions } from "./broker.js";
export { KeyStore, type KeyEntry } from "./key-store.js";
export { keyBrokerHandler, serveKeyBroker, type KeyBrokerServer } from "./server.js";
