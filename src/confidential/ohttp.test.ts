import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { hkdfExpand, hkdfExtract } from "./aead.js";
import { decodeBhttpRequest, decodeBhttpResponse, encodeBhttpRequest, encodeBhttpResponse } from "./bhttp.js";
import { setupBaseRecipient } from "./hpke.js";
import { decodeKeyConfig, decodeKeyConfigs, encodeKeyConfig, encodeKeyConfigs, type OhttpKeyConfig } from "./key-config.js";
import { OhttpKeyring } from "./keyring.js";
import { decapsulateRequest, encapsulateRequest, requestInfo } from "./ohttp.js";
import { ohttpRejectionOf, type OhttpRejection } from "./rejection.js";
import { ReplayWindow } from "./replay-window.js";
import { bytesToHex } from "./wire.js";
import { generateX25519KeyPair, rawX25519PublicKey, x25519PrivateKeyFromRaw } from "./x25519.js";

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const EXAMPLE_PATH = fileURLToPath(new URL("../../../shared/test-vectors/ohttp-rfc9458-example.json", import.meta.url));
const examplePresent = existsSync(EXAMPLE_PATH);

interface Example {
  gateway_secret_key: string;
  key_config: string;
  request_bhttp: string;
  client_ephemeral_secret_key: string;
  client_ephemeral_public_key: string;
  hpke_info: string;
  encapsulated_request: string;
  response_bhttp: string;
  response_export_secret: string;
  response_salt: string;
  response_nonce: string;
  response_prk: string;
  response_aead_key: string;
  response_aead_nonce: string;
  encapsulated_response: string;
}

describe.skipIf(!examplePresent)("RFC 9458 complete example (needs ../shared/test-vectors/ohttp-rfc9458-example.json, skipped when absent)", () => {
  const x = (examplePresent ? JSON.parse(readFileSync(EXAMPLE_PATH, "utf8")) : {}) as Example;
  const gatewayKey = () => x25519PrivateKeyFromRaw(hex(x.gateway_secret_key));

  it("decodes and re-encodes the key configuration, whose public key is the gateway secret key's", () => {
    const config = decodeKeyConfig(hex(x.key_config));
    expect(config.keyId).toBe(1);
    expect(config.kemId).toBe(0x0020);
    expect(config.suites).toEqual([
      { kdfId: 1, aeadId: 1 },
      { kdfId: 1, aeadId: 3 },
    ]);
    expect(bytesToHex(config.publicKey)).toBe(bytesToHex(rawX25519PublicKey(gatewayKey())));
    expect(bytesToHex(encodeKeyConfig(config))).toBe(x.key_config);
  });

  it("has the example's binary HTTP request and response", () => {
    expect(decodeBhttpRequest(hex(x.request_bhttp))).toMatchObject({ method: "GET", scheme: "https", authority: "example.com", path: "/" });
    expect(decodeBhttpResponse(hex(x.response_bhttp)).status).toBe(200);
  });

  it("produces exactly the example's encapsulated request", () => {
    const { bytes } = encapsulateRequest(hex(x.key_config), hex(x.request_bhttp), { ephemeralPrivateKey: hex(x.client_ephemeral_secret_key) });
    expect(bytesToHex(bytes)).toBe(x.encapsulated_request);
    expect(bytesToHex(bytes.subarray(7, 39))).toBe(x.client_ephemeral_public_key);
    expect(bytesToHex(requestInfo(bytes.subarray(0, 7)))).toBe(x.hpke_info);
  });

  it("decapsulates the example's request and produces exactly its encapsulated response", () => {
    const decapsulated = decapsulateRequest(gatewayKey(), 1, hex(x.encapsulated_request));
    expect(bytesToHex(decapsulated.request)).toBe(x.request_bhttp);
    expect(bytesToHex(decapsulated.respond(hex(x.response_bhttp), { responseNonce: hex(x.response_nonce) }))).toBe(x.encapsulated_response);
  });

  it("derives the example's response key schedule", () => {
    const enc = hex(x.client_ephemeral_public_key);
    const secret = setupBaseRecipient(enc, gatewayKey(), hex(x.hpke_info)).export(Buffer.from("message/bhttp response"), 16);
    expect(bytesToHex(secret)).toBe(x.response_export_secret);
    expect(`${x.client_ephemeral_public_key}${x.response_nonce}`).toBe(x.response_salt);
    const prk = hkdfExtract(hex(x.response_salt), secret);
    expect(bytesToHex(prk)).toBe(x.response_prk);
    expect(bytesToHex(hkdfExpand(prk, Buffer.from("key"), 16))).toBe(x.response_aead_key);
    expect(bytesToHex(hkdfExpand(prk, Buffer.from("nonce"), 12))).toBe(x.response_aead_nonce);
  });

  it("opens the example's encapsulated response on the client side", () => {
    const { context } = encapsulateRequest(hex(x.key_config), hex(x.request_bhttp), { ephemeralPrivateKey: hex(x.client_ephemeral_secret_key) });
    expect(bytesToHex(context.openResponse(hex(x.encapsulated_response)))).toBe(x.response_bhttp);
  });

  it("accepts the example through a keyring holding the gateway key, once", () => {
    const keyring = new OhttpKeyring();
    keyring.add(1, gatewayKey());
    expect(bytesToHex(keyring.decapsulate(hex(x.encapsulated_request)).request)).toBe(x.request_bhttp);
    expectRejection(() => keyring.decapsulate(hex(x.encapsulated_request)), "replayed");
  });
});

const MARKER = "TFAAS-CONFIDENTIAL-MARKER-7f3a";

function body(size: number): Uint8Array {
  return encodeBhttpRequest({
    method: "POST",
    scheme: "https",
    authority: "tfaas",
    path: "/function/echo",
    headers: [["content-type", "text/plain"]],
    content: new Uint8Array(Buffer.from(MARKER.padEnd(size, "."))),
    trailers: [],
  });
}

/** Runs `fn`, which must throw the given OHTTP rejection; the message must never carry request bytes. */
function expectRejection(fn: () => unknown, reason: OhttpRejection | readonly OhttpRejection[]): TfaasError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TfaasError);
  const error = thrown as TfaasError;
  const reasons: readonly OhttpRejection[] = typeof reason === "string" ? [reason] : reason;
  expect(reasons).toContain(ohttpRejectionOf(error));
  expect(error.message).not.toContain(MARKER);
  return error;
}

function flipped(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index]! ^= mask;
  return copy;
}

describe("Oblivious HTTP rejections", () => {
  function setup(keyId = 7): { keyring: OhttpKeyring; config: OhttpKeyConfig } {
    const keyring = new OhttpKeyring();
    return { keyring, config: keyring.generate(keyId) };
  }

  it("round-trips a request and its response through a keyring", () => {
    const { keyring, config } = setup();
    const { bytes, context } = encapsulateRequest(decodeKeyConfigs(keyring.encodedConfigs())[0]!, body(1024));
    expect(bytes.length).toBe(7 + 32 + body(1024).length + 16);
    expect(Buffer.from(bytes).includes(MARKER)).toBe(false);
    const decapsulated = keyring.decapsulate(bytes);
    expect(decapsulated.keyId).toBe(config.keyId);
    expect(new TextDecoder().decode(decodeBhttpRequest(decapsulated.request).content)).toContain(MARKER);
    const response = encodeBhttpResponse({ informational: [], status: 200, headers: [], content: new Uint8Array(Buffer.from(`${MARKER} back`)), trailers: [] });
    const sealed = decapsulated.respond(response);
    expect(Buffer.from(sealed).includes(MARKER)).toBe(false);
    expect(context.openResponse(sealed)).toEqual(response);
  });

  it("gives every response its own nonce, also across the nonce pool's refills", () => {
    const { keyring } = setup();
    const config = decodeKeyConfigs(keyring.encodedConfigs())[0]!;
    const response = encodeBhttpResponse({ informational: [], status: 204, headers: [], content: new Uint8Array(), trailers: [] });
    const nonces = new Set<string>();
    // 600 responses use the 4 KiB pool (256 nonces) up twice and start a third.
    for (let i = 0; i < 600; i++) {
      const { bytes, context } = encapsulateRequest(config, body(16));
      const sealed = keyring.decapsulate(bytes).respond(response);
      expect(context.openResponse(sealed)).toEqual(response);
      nonces.add(bytesToHex(sealed.subarray(0, 16)));
    }
    expect(nonces.size).toBe(600);
  });

  it("refuses a wrong key id, with the id in the message", () => {
    const { keyring, config } = setup(7);
    const { bytes } = encapsulateRequest({ ...config, keyId: 8 }, body(64));
    const error = expectRejection(() => keyring.decapsulate(bytes), "unknown-key");
    expect(error.code).toBe("not-found");
    expect(error.message).toMatch(/key id 8 is not held by this worker/);
    expectRejection(() => decapsulateRequest(generateX25519KeyPair().privateKey, 9, bytes), "unknown-key");
  });

  it("refuses a key the worker no longer holds, and a request to an old key under a reused id", () => {
    const { keyring, config } = setup(3);
    const old = encapsulateRequest(config, body(64)).bytes;
    keyring.retire(3);
    const error = expectRejection(() => keyring.decapsulate(old), "retired-key");
    expect(error.message).toMatch(/key id 3 has been retired by this worker; fetch fresh key configurations/);
    expect(() => keyring.retire(3)).toThrow(/key id 3 is not held/);
    keyring.generate(3);
    expect(() => keyring.generate(3)).toThrow(/key id 3 is already held/);
    expectRejection(() => keyring.decapsulate(old), "request-not-authentic");
  });

  it("refuses unsupported KEM, KDF and AEAD, on both sides", () => {
    const { keyring, config } = setup(1);
    const { bytes } = encapsulateRequest(config, body(64));
    for (const [index, value, name] of [
      [2, 0x21, "KEM 0x0021"],
      [4, 0x02, "KDF 0x0002"],
      [6, 0x03, "AEAD 0x0003"],
    ] as const) {
      const changed = Uint8Array.from(bytes);
      changed[index] = value;
      const error = expectRejection(() => keyring.decapsulate(changed), "unsupported-suite");
      expect(error.message).toContain(name);
    }
    expectRejection(() => encapsulateRequest({ ...config, suites: [{ kdfId: 1, aeadId: 3 }] }, body(64)), "unsupported-suite");
    expect(() => decodeKeyConfig(Uint8Array.from([1, 0x00, 0x10, ...new Uint8Array(32), 0, 4, 0, 1, 0, 1]))).toThrow(/KEM id is 0x0010, only 0x0020/);
  });

  it("refuses every truncation of a request and of a response", () => {
    const { keyring, config } = setup();
    const { bytes, context } = encapsulateRequest(config, body(256));
    for (let length = 0; length < bytes.length; length++) {
      expectRejection(() => keyring.decapsulate(bytes.subarray(0, length)), ["malformed", "request-not-authentic"]);
    }
    const sealed = keyring.decapsulate(bytes).respond(encodeBhttpResponse({ informational: [], status: 200, headers: [], content: new Uint8Array(100), trailers: [] }));
    for (let length = 0; length < sealed.length; length++) {
      expectRejection(() => context.openResponse(sealed.subarray(0, length)), ["malformed", "response-mismatch"]);
    }
  });

  it("refuses a request with any single bit flipped, and the failures do not spend its replay entry", () => {
    const { keyring, config } = setup(5);
    const { bytes } = encapsulateRequest(config, body(200));
    for (let index = 0; index < bytes.length; index++) {
      for (const mask of [0x01, 0x80]) {
        const expected: OhttpRejection = index === 0 ? "unknown-key" : index < 7 ? "unsupported-suite" : "request-not-authentic";
        expectRejection(() => keyring.decapsulate(flipped(bytes, index, mask)), expected);
      }
    }
    expect(keyring.decapsulate(bytes).request).toEqual(body(200));
  });

  it("refuses re-ordered ciphertext blocks and an enc moved onto another request", () => {
    const { keyring, config } = setup();
    const a = encapsulateRequest(config, body(128)).bytes;
    const b = encapsulateRequest(config, body(128)).bytes;
    const swapped = Uint8Array.from(a);
    swapped.set(a.subarray(39, 55), 55);
    swapped.set(a.subarray(55, 71), 39);
    expectRejection(() => keyring.decapsulate(swapped), "request-not-authentic");
    const spliced = Uint8Array.from(a);
    spliced.set(b.subarray(7, 39), 7);
    expectRejection(() => keyring.decapsulate(spliced), "request-not-authentic");
    // Both originals still decrypt: requests are independent of each other and of their order.
    expect(keyring.decapsulate(b).request).toEqual(body(128));
    expect(keyring.decapsulate(a).request).toEqual(body(128));
  });

  it("refuses a replayed request with conflict, within the window, per key", () => {
    const keyring = new OhttpKeyring({ replayWindow: 2 });
    const one = keyring.generate(1);
    const two = keyring.generate(2);
    const first = encapsulateRequest(one, body(32)).bytes;
    keyring.decapsulate(first);
    const error = expectRejection(() => keyring.decapsulate(first), "replayed");
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/replayed/);
    // Another key's traffic does not push key 1's entries out.
    for (let i = 0; i < 3; i++) keyring.decapsulate(encapsulateRequest(two, body(32)).bytes);
    expectRejection(() => keyring.decapsulate(first), "replayed");
    // The documented limit: two newer requests under key 1 push the first out of a window of 2.
    keyring.decapsulate(encapsulateRequest(one, body(32)).bytes);
    keyring.decapsulate(encapsulateRequest(one, body(32)).bytes);
    expect(keyring.decapsulate(first).request).toEqual(body(32));
  });

  it("refuses a response to another request, and a response with any bit flipped", () => {
    const { keyring, config } = setup();
    const a = encapsulateRequest(config, body(64));
    const b = encapsulateRequest(config, body(64));
    const response = encodeBhttpResponse({ informational: [], status: 200, headers: [], content: new Uint8Array(Buffer.from(MARKER)), trailers: [] });
    const forA = keyring.decapsulate(a.bytes).respond(response);
    const forB = keyring.decapsulate(b.bytes).respond(response);
    expectRejection(() => a.context.openResponse(forB), "response-mismatch");
    expectRejection(() => b.context.openResponse(forA), "response-mismatch");
    for (let index = 0; index < forA.length; index++) expectRejection(() => a.context.openResponse(flipped(forA, index)), "response-mismatch");
    expect(a.context.openResponse(forA)).toEqual(response);
  });

  it("publishes key configurations as application/ohttp-keys, skipping KEMs it does not speak", () => {
    const { keyring } = setup(9);
    keyring.generate(10);
    const list = keyring.encodedConfigs();
    expect(decodeKeyConfigs(list).map((config) => config.keyId)).toEqual([9, 10]);
    const foreign = Uint8Array.from([0, 9, 4, 0x00, 0x10, 1, 2, 3, 4, 5, 6]);
    expect(decodeKeyConfigs(new Uint8Array([...foreign, ...list])).map((config) => config.keyId)).toEqual([9, 10]);
    expect(() => decodeKeyConfigs(list.subarray(0, list.length - 1))).toThrow(/key configuration at offset \d+ needs/);
    expect(bytesToHex(encodeKeyConfigs(keyring.configs()))).toBe(bytesToHex(list));
  });

  it("bounds the replay window and evicts the oldest entry first", () => {
    const window = new ReplayWindow(3);
    const encs = [1, 2, 3, 4].map((n) => new Uint8Array(32).fill(n));
    for (const enc of encs) window.remember(enc);
    expect(window.size).toBe(3);
    expect(window.has(encs[0]!)).toBe(false);
    expect(encs.slice(1).every((enc) => window.has(enc))).toBe(true);
    expect(() => new ReplayWindow(0)).toThrow(/capacity is 0/);
    expect(() => new OhttpKeyring({ replayWindow: 1.5 })).toThrow(/capacity is 1.5/);
  });
});
