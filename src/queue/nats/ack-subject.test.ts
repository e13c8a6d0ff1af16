import { describe, expect, it } from "vitest";
import { parseAckSubject } from "./ack-subject.js";

describe("parseAckSubject", () => {
  it("reads delivery count and stream sequence from both layouts", () => {
    expect(parseAckSubject("$JS.ACK.calls.fn.3.42.7.1700000000000000000.0")).toEqual({ deliveryCount: 3, streamSeq: 42 });
    expect(parseAckSubject("$JS.ACK.hub.ACCHASH.calls.fn.1.9.9.1700000000000000000.5.tok")).toEqual({ deliveryCount: 1, streamSeq: 9 });
  });

  it("refuses anything else", () => {
    expect(parseAckSubject("_INBOX.abc")).toBeUndefined();
    expect(parseAckSubject("$JS.ACK.calls.fn.x.42.7.1.0")).toBeUndefined();
    expect(parseAckSubject("$JS.ACK.calls.fn.1.0.7.1.0")).toBeUndefined();
  });
});
