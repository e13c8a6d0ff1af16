import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { decodeFrame, encodeFrame, evidenceFromJson, evidenceToJson, specRefOf, usageFromWire, usageToWire } from "./wire.js";

describe("NATS frames", () => {
  it("carry JSON metadata and raw bytes, and decode to a copy of the body", () => {
    const body = new Uint8Array([0, 255, 10, 13, 0x7b]);
    const frame = encodeFrame({ t: "x", n: 1 }, body);
    const { meta, body: decoded } = decodeFrame<{ t: string; n: number }>(frame);
    expect(meta).toEqual({ t: "x", n: 1 });
    expect([...decoded]).toEqual([...body]);
    decoded[0] = 9;
    expect(frame[frame.length - body.length]).toBe(0);
  });

  it("refuse truncated frames and headers that are not JSON", () => {
    expect(() => decodeFrame(new Uint8Array([0, 0]))).toThrow(TfaasError);
    const frame = encodeFrame({ a: 1 });
    expect(() => decodeFrame(frame.subarray(0, frame.length - 1))).toThrow(/header of 7 bytes/);
    const bad = new Uint8Array([0, 0, 0, 1, 0x7b]);
    expect(() => decodeFrame(bad)).toThrow(/not JSON/);
  });

  it("keep fuel exact beyond 2^53 and evidence bytes intact", () => {
    const usage = { fuel: 2n ** 60n + 1n, pageFuelIntegral: null, weightsVersion: "v1", memoryPeakBytes: 65536, ioBytesIn: 1, ioBytesOut: 2 };
    expect(usageFromWire(JSON.parse(JSON.stringify(usageToWire(usage))))).toEqual(usage);
    const evidence = { type: "sim" as const, bytes: new Uint8Array([1, 2, 3]), certificates: [new Uint8Array([4])], nonce: new Uint8Array(16).fill(7), measurement: "ab" };
    expect(evidenceFromJson(JSON.parse(JSON.stringify(evidenceToJson(evidence))))).toEqual(evidence);
  });

  it("name a function's secrets but never carry their values or its code", () => {
    const ref = specRefOf("echo.openfaas-fn", {
      key: "echo.openfaas-fn@1.0",
      name: "echo",
      digest: "sha256:" + "a".repeat(64),
      bytes: new Uint8Array([0, 97, 115, 109]),
      options: { abi: "stdio" },
      env: { A: "1" },
      secrets: [["token", new TextEncoder().encode("s3cret")]],
      maxOutputBytes: 10,
      fuelLimit: 5n,
    });
    expect(ref).toMatchObject({ namespace: "openfaas-fn", secretNames: ["token"], fuelLimit: "5" });
    const text = JSON.stringify(ref);
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("bytes");
  });
});
