import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { decodeBhttpRequest, decodeBhttpResponse, encodeBhttpRequest, encodeBhttpResponse, type BhttpRequest, type BhttpResponse } from "./bhttp.js";
import { bytesToHex } from "./wire.js";

const hex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const empty = new Uint8Array(0);

const post: BhttpRequest = {
  method: "POST",
  scheme: "https",
  authority: "gateway.example",
  path: "/function/echo?x=1",
  headers: [
    ["content-type", "text/plain"],
    ["x-multi", "a"],
    ["x-multi", "b"],
    ["x-latin1", "caf\u00e9"],
  ],
  content: new Uint8Array(Buffer.from("hello, confidential world\n")),
  trailers: [["x-checksum", "abc"]],
};

const okResponse: BhttpResponse = {
  informational: [{ status: 103, headers: [["link", "</a.css>; rel=preload"]] }],
  status: 200,
  headers: [["content-type", "application/json"]],
  content: new Uint8Array(Buffer.from('{"ok":true}')),
  trailers: [],
};

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    expect((error as TfaasError).code).toBe("invalid-request");
    expect((error as TfaasError).message).toMatch(message);
    return;
  }
  throw new Error("expected a decoding error");
}

describe("binary HTTP (RFC 9292) known-length messages", () => {
  it("encodes and decodes a request with fields, content and trailers", () => {
    const bytes = encodeBhttpRequest(post);
    expect(bytes[0]).toBe(0);
    expect(decodeBhttpRequest(bytes)).toEqual(post);
  });

  it("encodes and decodes a response with an informational response", () => {
    const bytes = encodeBhttpResponse(okResponse);
    expect(bytes[0]).toBe(1);
    expect(decodeBhttpResponse(bytes)).toEqual(okResponse);
  });

  it("writes RFC 9458's example request and response exactly: empty trailing sections are omitted", () => {
    const get: BhttpRequest = { method: "GET", scheme: "https", authority: "example.com", path: "/", headers: [], content: empty, trailers: [] };
    expect(bytesToHex(encodeBhttpRequest(get))).toBe("00034745540568747470730b6578616d706c652e636f6d012f");
    expect(decodeBhttpRequest(hex("00034745540568747470730b6578616d706c652e636f6d012f"))).toEqual(get);
    expect(bytesToHex(encodeBhttpResponse({ informational: [], status: 200, headers: [], content: empty, trailers: [] }))).toBe("0140c8");
  });

  it("lays out lengths at every varint size boundary exactly (content, field values, control data)", () => {
    for (const size of [0, 1, 63, 64, 16383, 16384]) {
      const request: BhttpRequest = { ...post, path: `/${"p".repeat(size)}`, headers: [["x-long", "v".repeat(size || 1)]], content: new Uint8Array(size).fill(7), trailers: [] };
      const bytes = encodeBhttpRequest(request);
      expect(decodeBhttpRequest(bytes)).toEqual(request);
      const response: BhttpResponse = { informational: [], status: 599, headers: [["x-long", "w".repeat(size || 1)]], content: new Uint8Array(size).fill(9), trailers: [["x-t", "1"]] };
      expect(decodeBhttpResponse(encodeBhttpResponse(response))).toEqual(response);
    }
    // 16384 needs a 4-byte varint: framing (1) + 4 control fields + the header section's and content's prefixes.
    const big = encodeBhttpRequest({ ...post, trailers: [], headers: [], content: new Uint8Array(16384) });
    expect(big.length).toBe(1 + (1 + 4) + (1 + 5) + (1 + 15) + (1 + 18) + 1 + 4 + 16384);
  });

  it("keeps an empty header section when content follows, and lowercases names", () => {
    const bytes = encodeBhttpRequest({ ...post, headers: [["X-Upper", "v"]], trailers: [] });
    expect(decodeBhttpRequest(bytes).headers).toEqual([["x-upper", "v"]]);
    const noHeaders = encodeBhttpRequest({ ...post, headers: [], trailers: [] });
    expect(decodeBhttpRequest(noHeaders)).toEqual({ ...post, headers: [], trailers: [] });
  });

  it("accepts zero padding and truncation at section boundaries, and nothing else", () => {
    const bytes = encodeBhttpRequest(post);
    expect(decodeBhttpRequest(new Uint8Array([...bytes, 0, 0, 0]))).toEqual(post);
    expectInvalid(() => decodeBhttpRequest(new Uint8Array([...bytes, 0, 1])), /padding at offset \d+ is not zero/);
    // Every proper prefix either ends at a section boundary (and decodes with the rest empty) or fails cleanly.
    let decoded = 0;
    for (let length = 0; length < bytes.length; length++) {
      try {
        const request = decodeBhttpRequest(bytes.subarray(0, length));
        expect(request.method).toBe("POST");
        decoded++;
      } catch (error) {
        expect(error).toBeInstanceOf(TfaasError);
        expect((error as TfaasError).message).toMatch(/^Cannot decode binary HTTP/);
      }
    }
    expect(decoded).toBe(3); // after the control data, after the header section, after the content
  });

  it("fails every truncated response cleanly", () => {
    const bytes = encodeBhttpResponse({ ...okResponse, trailers: [["x-t", "1"]] });
    for (let length = 0; length < bytes.length; length++) {
      try {
        decodeBhttpResponse(bytes.subarray(0, length));
      } catch (error) {
        expect(error).toBeInstanceOf(TfaasError);
        expect((error as TfaasError).code).toBe("invalid-request");
      }
    }
    expectInvalid(() => decodeBhttpResponse(hex("01")), /status at offset 1 needs 1 byte, 0 left/);
    expectInvalid(() => decodeBhttpResponse(hex("0140")), /status at offset 1 needs 2 bytes, 1 left/);
  });

  it("names what is wrong in garbled input", () => {
    expectInvalid(() => decodeBhttpRequest(hex("02")), /indeterminate-length messages \(framing indicator 2\) are not supported/);
    expectInvalid(() => decodeBhttpRequest(hex("01")), /framing indicator is 1, expected 0/);
    expectInvalid(() => decodeBhttpResponse(hex("00")), /framing indicator is 0, expected 1/);
    expectInvalid(() => decodeBhttpResponse(hex("014063")), /status at offset 1 is 99, expected 100–599/);
    expectInvalid(() => decodeBhttpResponse(hex("014258")), /status at offset 1 is 600, expected 100–599/);
    expectInvalid(() => decodeBhttpRequest(hex("0009474554")), /method at offset 2 needs 9 bytes, 3 left/);
    expectInvalid(() => decodeBhttpRequest(hex("0003472054")), /method at offset 1 is not valid/);
    // A header section whose field name is uppercase, then one whose value holds a CR.
    const control = "00034745540568747470730b6578616d706c652e636f6d012f";
    expectInvalid(() => decodeBhttpRequest(hex(`${control}0401410161`)), /header field at offset \d+ is not a lowercase field name token/);
    expectInvalid(() => decodeBhttpRequest(hex(`${control}050161020d0a`)), /has a NUL, CR or LF/);
    expectInvalid(() => decodeBhttpRequest(hex(`${control}0401610263`)), /header section: field value at offset 3 needs 2 bytes, 1 left/);
    // A varint larger than JavaScript's safe integers.
    expectInvalid(() => decodeBhttpRequest(hex("00ffffffffffffffff")), /exceeds/);
  });

  it("refuses to encode what it could not decode", () => {
    expect(() => encodeBhttpRequest({ ...post, headers: [["x-bad", "a\r\nb"]] })).toThrow(/NUL, CR or LF/);
    expect(() => encodeBhttpRequest({ ...post, headers: [["bad name", "a"]] })).toThrow(/lowercase field name token/);
    expect(() => encodeBhttpRequest({ ...post, headers: [["x-wide", "\u20ac"]] })).toThrow(/outside 0x00–0xff/);
    expect(() => encodeBhttpRequest({ ...post, path: "/a b" })).toThrow(/path is not valid/);
    expect(() => encodeBhttpResponse({ ...okResponse, status: 102 })).toThrow(/status is 102, expected 200–599/);
    expect(() => encodeBhttpResponse({ ...okResponse, informational: [{ status: 200, headers: [] }] })).toThrow(/informational status is 200/);
  });
});
