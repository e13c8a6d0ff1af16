import { describe, expect, it } from "vitest";
import { TfaasError } from "../../shared/errors.js";
import { buildResponse, parseWagiResponse } from "./response.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

describe("buildResponse", () => {
  it("stdio: all of stdout is the body, status 200, even if it looks like headers", () => {
    const stdout = bytes("Status: 404\n\nbody");
    expect(buildResponse("stdio", stdout)).toEqual({ status: 200, headers: {}, body: stdout });
  });
});

describe("parseWagiResponse", () => {
  it("accepts a bare status code and keeps colons inside values", () => {
    const result = parseWagiResponse(bytes("Status: 201\nLink: <https://example.com:8443/a>; rel=next\n\n"));
    expect(result.status).toBe(201);
    expect(result.headers).toEqual({ link: "<https://example.com:8443/a>; rel=next" });
  });

  it("lets an explicit Status win over Location", () => {
    expect(parseWagiResponse(bytes("Location: /elsewhere\nStatus: 301 Moved Permanently\n\n")).status).toBe(301);
  });

  it("keeps binary bodies byte for byte, blank lines included", () => {
    const body = Uint8Array.from([0, 13, 10, 13, 10, 255]);
    const stdout = new Uint8Array([...bytes("Content-Type: application/octet-stream\r\n\r\n"), ...body]);
    expect([...parseWagiResponse(stdout).body]).toEqual([...body]);
  });

  it("rejects statuses outside 100-599 and names without a token", () => {
    for (const output of ["Status: 600\n\n", "Status: 99\n\n", ": value\n\n", "Bad Name: x\n\n"]) {
      expect(() => parseWagiResponse(bytes(output))).toThrow(TfaasError);
    }
  });

  it("says which line is malformed without quoting it", () => {
    try {
      parseWagiResponse(bytes("Content-Type: text/plain\nsecret-token-here\n\n"));
      throw new Error("parsed");
    } catch (error) {
      expect(error).toBeInstanceOf(TfaasError);
      expect((error as TfaasError).code).toBe("function-failed");
      expect((error as TfaasError).message).toBe(`Cannot parse the function's wagi response: header line 2 is not "Name: value"`);
    }
  });

  it("returns the body after the first blank line only", () => {
    expect(decode(parseWagiResponse(bytes("X: 1\n\nline\n\nmore")).body)).toBe("line\n\nmore");
  });
});
