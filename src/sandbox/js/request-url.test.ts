/**
 * The Request the host hands a function parses its URL only when `.url` is first read (prelude);
 * what a function sees must be what eager parsing gave, in both engines.
 */
import { describe, expect, it } from "vitest";
import type { InvocationContext } from "../index.js";
import { createJsRuntime, JS_ENGINES } from "./index.js";

const SOURCE = `export default { fetch(request) {
  let invalid = "";
  try { new Request("no scheme here"); } catch (error) { invalid = error.constructor.name; }
  const clone = request.clone();
  return Response.json({ url: request.url, again: request.url, clone: clone.url, path: new URL(request.url).pathname, invalid, built: new Request("HTTP://Example.COM:80/a/./b").url });
} };`;
const context: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1 << 16, fuelLimit: undefined };

describe.each(JS_ENGINES)("%s engine: the host's request URL", (engine) => {
  it("reads normalised, the same every time and in a clone, while a Request the function builds still parses at once", async () => {
    const fn = await createJsRuntime(engine).prepare(new TextEncoder().encode(SOURCE), { abi: "stdio" });
    const result = await fn.invoke({ method: "GET", path: "/a b/./c/../d", query: "x=1 2", headers: {}, body: new Uint8Array() }, context);
    expect(result.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(result.body))).toEqual({
      url: "http://function/a%20b/d?x=1%202",
      again: "http://function/a%20b/d?x=1%202",
      clone: "http://function/a%20b/d?x=1%202",
      path: "/a%20b/d",
      invalid: "TypeError",
      built: "http://example.com/a/b",
    });
  });
});
