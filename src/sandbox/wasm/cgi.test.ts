import { describe, expect, it } from "vitest";
import { buildEnvironment } from "./cgi.js";

const request = (headers: Record<string, string>, body = "") => ({
  method: "PUT",
  path: "/a/b",
  query: "",
  headers,
  body: new TextEncoder().encode(body),
});

describe("buildEnvironment", () => {
  it("names headers CGI-style and watchdog-style", () => {
    const env = buildEnvironment(request({ "x-forwarded-for": "10.0.0.1", accept: "*/*" }), {});
    expect(env.get("HTTP_X_FORWARDED_FOR")).toBe("10.0.0.1");
    expect(env.get("Http_X_Forwarded_For")).toBe("10.0.0.1");
    expect(env.get("HTTP_ACCEPT")).toBe("*/*");
    expect(env.get("Http_Accept")).toBe("*/*");
  });

  it("turns characters that cannot appear in variable names into '_'", () => {
    const env = buildEnvironment(request({ "x.trace~id": "t" }), {});
    expect(env.get("HTTP_X_TRACE_ID")).toBe("t");
    expect(env.get("Http_X_trace_id")).toBe("t");
  });

  it("leaves CONTENT_TYPE unset without a content-type header and always sets CONTENT_LENGTH", () => {
    const env = buildEnvironment(request({}, "four"), {});
    expect(env.has("CONTENT_TYPE")).toBe(false);
    expect(env.get("CONTENT_LENGTH")).toBe("4");
    expect(env.get("Http_Content_Length")).toBe("4");
    expect(env.has("HTTP_CONTENT_LENGTH")).toBe(false);
  });

  it("puts envVars first and lets request names win a clash", () => {
    const env = buildEnvironment(request({}), { first: "1", PATH_INFO: "/fake", Http_Method: "FAKE" });
    expect([...env.keys()][0]).toBe("first");
    expect(env.get("PATH_INFO")).toBe("/a/b");
    expect(env.get("Http_Method")).toBe("PUT");
  });
});
