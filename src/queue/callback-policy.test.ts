import { describe, expect, it } from "vitest";
import { expectTfaasError } from "./queue.contract.js";
import { CallbackPolicy, DISTRIBUTED_CALLBACK_RULES, EMBEDDED_CALLBACK_RULES, type ResolvedAddress } from "./callback-policy.js";

/** A fixed DNS table, so the policy's decisions are tested without depending on the network. */
function dns(table: Record<string, string[]>) {
  return (host: string): Promise<ResolvedAddress[]> => {
    const addresses = table[host];
    if (addresses === undefined) return Promise.reject(new Error(`ENOTFOUND ${host}`));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
  };
}

const table = dns({
  "hooks.example.com": ["93.184.216.34"],
  "rebind.example.com": ["93.184.216.34", "127.0.0.1"],
  "metadata.example.com": ["169.254.169.254"],
  "intranet.corp": ["10.1.2.3"],
  "a.trusted.dev": ["10.9.9.9"],
  localhost: ["127.0.0.1", "::1"],
});

const check = (policy: CallbackPolicy, url: string) => policy.check(CallbackPolicy.parseUrl(url));

describe("CallbackPolicy.parseUrl", () => {
  it("accepts absolute http and https URLs", () => {
    expect(CallbackPolicy.parseUrl("https://hooks.example.com/done?x=1").hostname).toBe("hooks.example.com");
    expect(CallbackPolicy.parseUrl("http://127.0.0.1:8000/").port).toBe("8000");
  });

  it("refuses relative URLs, other schemes and embedded credentials", () => {
    expect(() => CallbackPolicy.parseUrl("/relative")).toThrow(/not an absolute URL/);
    expect(() => CallbackPolicy.parseUrl("ftp://example.com/")).toThrow(/scheme is ftp/);
    expect(() => CallbackPolicy.parseUrl("file:///etc/passwd")).toThrow(/scheme is file/);
    expect(() => CallbackPolicy.parseUrl("https://user:pw@example.com/")).toThrow(/credentials/);
  });
});

describe("CallbackPolicy with the embedded default", () => {
  const policy = new CallbackPolicy(EMBEDDED_CALLBACK_RULES, table);

  it("allows loopback, private and public targets and pins the resolved address", async () => {
    expect((await check(policy, "http://localhost:9000/")).address).toEqual({ address: "127.0.0.1", family: 4 });
    expect((await check(policy, "http://intranet.corp/")).address.address).toBe("10.1.2.3");
    expect((await check(policy, "http://[::1]:8080/")).address).toEqual({ address: "::1", family: 6 });
  });

  it("refuses link-local (cloud metadata) and reserved ranges, by literal, by name and IPv4-mapped", async () => {
    await expectTfaasError(check(policy, "http://169.254.169.254/latest/meta-data"), "invalid-request", "denied range");
    await expectTfaasError(check(policy, "http://metadata.example.com/"), "invalid-request", "169.254.169.254");
    await expectTfaasError(check(policy, "http://[::ffff:169.254.169.254]/"), "invalid-request", "denied range");
    await expectTfaasError(check(policy, "http://0.0.0.0:8080/"), "invalid-request", "denied range");
    // WHATWG URL parsing normalizes other spellings of an address before it is checked.
    await expectTfaasError(check(policy, "http://0xa9fea9fe/"), "invalid-request", "169.254.169.254");
  });

  it("reports a name that does not resolve as unavailable", async () => {
    await expectTfaasError(check(policy, "http://nowhere.invalid/"), "unavailable", "does not resolve");
  });
});

describe("CallbackPolicy with the distributed recommendation", () => {
  const policy = new CallbackPolicy(DISTRIBUTED_CALLBACK_RULES, table);

  it("allows public targets only", async () => {
    expect((await check(policy, "https://hooks.example.com/")).address.address).toBe("93.184.216.34");
    await expectTfaasError(check(policy, "http://localhost/"), "invalid-request", "127.0.0.1");
    await expectTfaasError(check(policy, "http://intranet.corp/"), "invalid-request", "10.1.2.3");
    await expectTfaasError(check(policy, "http://[fd00::1]/"), "invalid-request", "denied range");
  });

  it("refuses a name when any of its addresses is denied", async () => {
    await expectTfaasError(check(policy, "http://rebind.example.com/"), "invalid-request", "127.0.0.1");
  });
});

describe("CallbackPolicy allow and deny entries", () => {
  it("lets an explicit allow beat a denied range, by name, wildcard or range", async () => {
    const policy = new CallbackPolicy({ allow: ["intranet.corp", "*.trusted.dev", "10.200.0.0/16"], deny: ["private"] }, table);
    expect((await check(policy, "http://intranet.corp/")).address.address).toBe("10.1.2.3");
    expect((await check(policy, "http://a.trusted.dev/")).address.address).toBe("10.9.9.9");
    expect((await check(policy, "http://10.200.1.1/")).address.address).toBe("10.200.1.1");
  });

  it("switches to allow-list mode when allow has entries", async () => {
    const policy = new CallbackPolicy({ allow: ["hooks.example.com"], deny: [] }, table);
    expect((await check(policy, "https://hooks.example.com/")).url.hostname).toBe("hooks.example.com");
    await expectTfaasError(check(policy, "http://localhost/"), "invalid-request", "allow list does not include");
  });

  it("refuses a denied host name before resolving it", async () => {
    const policy = new CallbackPolicy({ allow: [], deny: ["hooks.example.com", "*.corp"] }, table);
    await expectTfaasError(check(policy, "https://hooks.example.com./"), "invalid-request", "host is denied");
    await expectTfaasError(check(policy, "https://intranet.corp/"), "invalid-request", "host is denied");
  });

  it("names a malformed entry", () => {
    expect(() => new CallbackPolicy({ allow: [], deny: ["10.0.0.0/33"] })).toThrow(/deny list: entry "10.0.0.0\/33"/);
    expect(() => new CallbackPolicy({ allow: ["not a host"], deny: [] })).toThrow(/allow list: entry "not a host"/);
  });
});
