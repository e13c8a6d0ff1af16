import { describe, expect, it } from "vitest";
import { DEFAULT_GATEWAY_URL, resolveGatewayUrl } from "./gateway-url.js";

describe("resolveGatewayUrl", () => {
  const env = { TFAAS_GATEWAY: "http://tfaas-env:1", OPENFAAS_URL: "http://openfaas-env:2" };

  it("prefers the flag, then TFAAS_GATEWAY, then OPENFAAS_URL, then the stack file, then the default", () => {
    expect(resolveGatewayUrl({ flag: "http://flag:0", env, stack: "http://stack:3" })).toBe("http://flag:0");
    expect(resolveGatewayUrl({ env, stack: "http://stack:3" })).toBe("http://tfaas-env:1");
    expect(resolveGatewayUrl({ env: { OPENFAAS_URL: env.OPENFAAS_URL }, stack: "http://stack:3" })).toBe("http://openfaas-env:2");
    expect(resolveGatewayUrl({ env: {}, stack: "http://stack:3" })).toBe("http://stack:3");
    expect(resolveGatewayUrl({ env: {} })).toBe(DEFAULT_GATEWAY_URL);
    expect(DEFAULT_GATEWAY_URL).toBe("http://127.0.0.1:8080");
  });

  it("skips empty values", () => {
    expect(resolveGatewayUrl({ flag: "", env: { TFAAS_GATEWAY: " ", OPENFAAS_URL: "http://openfaas-env:2" } })).toBe("http://openfaas-env:2");
  });

  it("trims trailing slashes but keeps a path prefix", () => {
    expect(resolveGatewayUrl({ flag: "https://example.com/faas//", env: {} })).toBe("https://example.com/faas");
    expect(resolveGatewayUrl({ flag: "http://127.0.0.1:8080/", env: {} })).toBe("http://127.0.0.1:8080");
  });

  it("rejects values that are not http(s) URLs, naming where they came from", () => {
    expect(() => resolveGatewayUrl({ env: { OPENFAAS_URL: "127.0.0.1:8080" } })).toThrow(/^Cannot use the gateway URL from OPENFAAS_URL: /);
    expect(() => resolveGatewayUrl({ flag: "ftp://host", env: {} })).toThrow("expected http:// or https://");
  });

  it("refuses credentials in the URL without echoing them", () => {
    let message = "";
    try {
      resolveGatewayUrl({ flag: "http://admin:s3cret@host:8080", env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("tfaas login");
    expect(message).not.toContain("s3cret");
  });
});
