import { describe, expect, it } from "vitest";
import { formatFields, formatMap, formatTable, shortDigest } from "./output.js";

describe("output", () => {
  it("aligns table columns to the widest cell without trailing spaces", () => {
    expect(formatTable(["Function", "Invocations"], [["hello-world", "3"], ["a", "12345678901234"]])).toBe(
      "Function      Invocations\nhello-world   3\na             12345678901234\n",
    );
    expect(formatTable(["Name"], [])).toBe("Name\n");
  });

  it("aligns Key: value lines and leaves out unknown values", () => {
    expect(formatFields([["Name", "hello"], ["Namespace", undefined], ["Available replicas", "1"]])).toBe("Name:               hello\nAvailable replicas: 1\n");
  });

  it("prints maps sorted by key, or '-' when empty", () => {
    expect(formatMap({ b: "2", a: "1" })).toBe("a=1, b=2");
    expect(formatMap({})).toBe("-");
    expect(formatMap(undefined)).toBe("-");
  });

  it("shortens only full sha256 digests", () => {
    expect(shortDigest(`sha256:${"ab".repeat(32)}`)).toBe("sha256:abababababab…");
    expect(shortDigest("hello.wasm")).toBe("hello.wasm");
  });
});
