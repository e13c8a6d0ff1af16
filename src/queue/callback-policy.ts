/**
 * Where callbacks may go (SSRF protection). A callback URL is checked twice: its syntax at
 * enqueue (400 when malformed), and its host at enqueue and again at every delivery, against the
 * addresses it resolves to *at that moment*. Delivery then connects to exactly the address that
 * was checked (the resolution is pinned), so a DNS answer that changes between check and connect
 * (rebinding) cannot redirect it. Redirects are never followed.
 *
 * Rules are lists of entries: a host name (`hooks.example.com`), a subdomain wildcard
 * (`*.example.com`), an address or CIDR range (`10.0.0.0/8`, `fd00::/8`), or a named group
 * (`loopback`, `private`, `link-local`, `reserved`). The decision:
 *  1. a host name matching `deny` is refused; one matching `allow` is accepted as resolved;
 *  2. otherwise every resolved address must pass: in an `allow` range → passes; in a `deny`
 *     range → refused; in neither → passes only when `allow` is empty (deny-list mode).
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address they carry.
 *
 * Where the guarantee stops: it governs the first hop only. A permitted receiver can still
 * forward what it gets; an HTTP proxy is never used; translation prefixes (NAT64 64:ff9b::/96,
 * 6to4 2002::/16) reach IPv4 hosts that the IPv4 ranges do not see unless they are denied too.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { TfaasError } from "../shared/errors.js";

export interface CallbackPolicyRules {
  allow: readonly string[];
  deny: readonly string[];
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface CallbackTarget {
  url: URL;
  /** The checked address to connect to. */
  address: ResolvedAddress;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/** Named groups of special-purpose ranges (RFC 6890 and friends). */
export const ADDRESS_GROUPS: Readonly<Record<string, readonly string[]>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  private: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"],
  "link-local": ["169.254.0.0/16", "fe80::/10"],
  reserved: [
    "0.0.0.0/8",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "100::/64",
    "2001:db8::/32",
    "ff00::/8",
  ],
};

/** The embedded default: loopback and private networks are reachable (local development); metadata endpoints and reserved ranges are not. */
export const EMBEDDED_CALLBACK_RULES: CallbackPolicyRules = { allow: [], deny: ["link-local", "reserved"] };

/** The recommended rules for distributed mode: public addresses only, plus whatever `allow` names. */
export const DISTRIBUTED_CALLBACK_RULES: CallbackPolicyRules = { allow: [], deny: ["loopback", "private", "link-local", "reserved"] };

interface CompiledList {
  names: Set<string>;
  suffixes: string[];
  ranges: BlockList;
  hasRanges: boolean;
  size: number;
}

const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

export class CallbackPolicy {
  readonly #allow: CompiledList;
  readonly #deny: CompiledList;
  readonly #resolve: Resolver;

  /** Fails with `invalid-request` naming the first malformed entry. */
  constructor(rules: CallbackPolicyRules, resolve: Resolver = systemResolver) {
    this.#allow = compile(rules.allow, "allow");
    this.#deny = compile(rules.deny, "deny");
    this.#resolve = resolve;
  }

  /** Checks the syntax of an X-Callback-Url: absolute http(s), a host, no credentials. */
  static parseUrl(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new TfaasError("invalid-request", "Cannot accept X-Callback-Url: current value is not an absolute URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TfaasError("invalid-request", `Cannot accept X-Callback-Url: current scheme is ${url.protocol.slice(0, -1)}, expected http or https`);
    }
    if (url.username !== "" || url.password !== "") {
      throw new TfaasError("invalid-request", "Cannot accept X-Callback-Url: current value carries credentials, which would be stored and shown in call status");
    }
    if (url.hostname === "") throw new TfaasError("invalid-request", "Cannot accept X-Callback-Url: current value has no host");
    return url;
  }

  /**
   * Resolves the URL's host once and checks it. Fails with `invalid-request` when the policy
   * refuses it, and with `unavailable` when the name does not resolve now.
   */
  async check(url: URL): Promise<CallbackTarget> {
    const host = hostOf(url);
    const refuse = (why: string) => new TfaasError("invalid-request", `Cannot send callbacks to ${host}: ${why}`);
    if (matchesName(this.#deny, host)) throw refuse("the host is denied by the callback policy");
    const literal = isIP(host);
    let addresses: ResolvedAddress[];
    if (literal !== 0) {
      addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await this.#resolve(host);
      } catch (cause) {
        throw new TfaasError("unavailable", `Cannot send callbacks to ${host}: the name does not resolve`, { cause });
      }
      if (addresses.length === 0) throw new TfaasError("unavailable", `Cannot send callbacks to ${host}: the name does not resolve`);
    }
    if (!matchesName(this.#allow, host)) {
      for (const { address, family } of addresses) {
        const type = family === 6 ? "ipv6" : "ipv4";
        if (this.#allow.hasRanges && this.#allow.ranges.check(address, type)) continue;
        if (this.#deny.hasRanges && this.#deny.ranges.check(address, type)) throw refuse(`it resolves to ${address}, in a denied range`);
        if (this.#allow.size > 0) throw refuse(`it resolves to ${address}, which the allow list does not include`);
      }
    }
    return { url, address: addresses[0]! };
  }
}

/** The host without IPv6 brackets or a trailing dot, lower-case (URL already lower-cases names). */
function hostOf(url: URL): string {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return host.endsWith(".") ? host.slice(0, -1) : host;
}

function matchesName(list: CompiledList, host: string): boolean {
  return list.names.has(host) || list.suffixes.some((suffix) => host.endsWith(suffix));
}

function compile(entries: readonly string[], which: string): CompiledList {
  const list: CompiledList = { names: new Set(), suffixes: [], ranges: new BlockList(), hasRanges: false, size: 0 };
  const addRange = (entry: string, source: string) => {
    const [address = "", prefixText] = entry.split("/");
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > bits || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
      throw new TfaasError("invalid-request", `Cannot read the callback ${which} list: entry ${JSON.stringify(source)} is not a host name, address, CIDR range or group`);
    }
    list.ranges.addSubnet(address, prefix, family === 6 ? "ipv6" : "ipv4");
    // Judge IPv4-mapped IPv6 addresses as the IPv4 address they carry.
    if (family === 4) list.ranges.addSubnet(`::ffff:${address}`, 96 + prefix, "ipv6");
    list.hasRanges = true;
  };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    list.size++;
    const group = ADDRESS_GROUPS[entry];
    if (group !== undefined) {
      for (const range of group) addRange(range, raw);
    } else if (entry.includes("/") || isIP(entry) !== 0) {
      addRange(entry, raw);
    } else if (/^\*\.[a-z0-9.-]+$/.test(entry)) {
      list.suffixes.push(entry.slice(1));
    } else if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(entry)) {
      list.names.add(entry);
    } else {
      throw new TfaasError("invalid-request", `Cannot read the callback ${which} list: entry ${JSON.stringify(raw)} is not a host name, address, CIDR range or group`);
    }
  }
  return list;
}
