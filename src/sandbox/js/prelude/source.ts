/**
 * The in-sandbox prelude: plain JavaScript that both engines evaluate as a global script in every
 * fresh context before the function's module. It installs the Web APIs the function ABI promises
 * (Headers, Request, Response, URL, URLSearchParams, TextEncoder/TextDecoder, atob/btoa, crypto,
 * console) on top of bare ECMAScript, and evaluates to the dispatcher the host calls.
 *
 * It is kept as source text (not compiled TypeScript) because it runs inside QuickJS and V8
 * contexts, not in Node; tests in prelude.test.ts run it through both engines. It must not use
 * template literals (this file holds it in one).
 *
 * Host contract: before evaluation the global `__tfaas_host` holds
 *   log(text: string): void                        — one console line, to the function's logs
 *   random(length: number): ArrayBuffer              — cryptographically random bytes
 *   digest(algorithm: string, data: ArrayBuffer): ArrayBuffer
 *   encode(text: string): ArrayBuffer                — UTF-8 (lone surrogates → U+FFFD)
 *   decode(data: ArrayBuffer, fatal: boolean): string — UTF-8; fatal → TypeError on bad input
 * The prelude captures it and deletes the global. The completion value is
 *   dispatch(namespace, meta: string (JSON {method,url,headers:[[k,v]],env}), body: ArrayBuffer)
 *     → Promise<[status: number, headers: string (JSON [[k,v]]), body: ArrayBuffer]>
 */
export const PRELUDE_SOURCE = String.raw`(function (host) {
"use strict";
var hostLog = host.log, hostRandom = host.random, hostDigest = host.digest, hostEncode = host.encode, hostDecode = host.decode;
/* Captured now: the function may replace the globals, but the dispatcher must keep working. */
var stringify = JSON.stringify, parseJson = JSON.parse, arrayFrom = Array.from, PromiseCtor = Promise;
var then = Function.prototype.call.bind(Promise.prototype.then);
var define = function (target, name, value) {
  Object.defineProperty(target, name, { value: value, writable: true, configurable: true, enumerable: false });
};
var isView = function (value) { return ArrayBuffer.isView(value); };

/* ---------- UTF-8 (converted by the host: a per-character loop here costs ~100x more in QuickJS) ---------- */
function utf8Encode(text) { return new Uint8Array(hostEncode(String(text))); }
function utf8Decode(bytes, fatal) { return hostDecode(bytes.slice().buffer, !!fatal); }
function bytesOf(data, what) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(what + ": expected an ArrayBuffer or a view of one");
}

class TextEncoder {
  get encoding() { return "utf-8"; }
  encode(input) { return utf8Encode(input === undefined ? "" : input); }
  encodeInto(input, dest) {
    var bytes = utf8Encode(input), n = Math.min(bytes.length, dest.length);
    while (n > 0 && n < bytes.length && (bytes[n] & 0xc0) === 0x80) n--;
    dest.set(bytes.subarray(0, n));
    return { read: utf8Decode(bytes.subarray(0, n), false).length, written: n };
  }
}
class TextDecoder {
  #fatal; #ignoreBOM;
  constructor(label, options) {
    var name = String(label === undefined ? "utf-8" : label).trim().toLowerCase();
    if (name !== "utf-8" && name !== "utf8" && name !== "unicode-1-1-utf-8") throw new RangeError("TextDecoder: only utf-8 is supported, got " + name);
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() { return "utf-8"; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input) {
    if (input === undefined) return "";
    var bytes = bytesOf(input, "TextDecoder.decode");
    if (!this.#ignoreBOM && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    return utf8Decode(bytes, this.#fatal);
  }
}

/* ---------- base64 ---------- */
var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function btoa(data) {
  data = String(data);
  var out = "";
  for (var i = 0; i < data.length; i += 3) {
    var a = data.charCodeAt(i), b = data.charCodeAt(i + 1), c = data.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new Error("InvalidCharacterError: btoa accepts only Latin-1 characters");
    var n = (a << 16) | ((b || 0) << 8) | (c || 0);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < data.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < data.length ? B64[n & 63] : "=");
  }
  return out;
}
function atob(data) {
  data = String(data).replace(/[\t\n\f\r ]/g, "");
  if (data.length % 4 === 0) data = data.replace(/==?$/, "");
  if (data.length % 4 === 1 || /[^A-Za-z0-9+\/]/.test(data)) throw new Error("InvalidCharacterError: atob was given invalid base64");
  var out = "", bits = 0, acc = 0;
  for (var i = 0; i < data.length; i++) {
    acc = (acc << 6) | B64.indexOf(data[i]); bits += 6;
    if (bits >= 8) { bits -= 8; out += String.fromCharCode((acc >> bits) & 255); }
  }
  return out;
}

/* ---------- URLSearchParams ---------- */
function formEncode(text) {
  return encodeURIComponent(text).replace(/%20/g, "+").replace(/[!'()~]/g, function (c) { return "%" + c.charCodeAt(0).toString(16).toUpperCase(); });
}
function formDecode(text) {
  text = text.replace(/\+/g, " ");
  try { return decodeURIComponent(text); }
  catch (error) { return text.replace(/%([0-9A-Fa-f]{2})/g, function (_, h) { return String.fromCharCode(parseInt(h, 16)); }); }
}
class URLSearchParams {
  #list = []; #onChange = null;
  constructor(init) {
    if (init === undefined || init === null) return;
    if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
      for (var pair of init) {
        var entry = Array.from(pair);
        if (entry.length !== 2) throw new TypeError("URLSearchParams: each pair must have two items");
        this.#list.push([String(entry[0]), String(entry[1])]);
      }
    } else if (typeof init === "object") {
      for (var key of Object.keys(init)) this.#list.push([key, String(init[key])]);
    } else this.#parse(String(init));
  }
  #parse(text) {
    this.#list = [];
    if (text.charAt(0) === "?") text = text.slice(1);
    for (var part of text.split("&")) {
      if (part === "") continue;
      var eq = part.indexOf("=");
      this.#list.push(eq < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
    }
  }
  static _link(params, text, onChange) { params.#parse(text); params.#onChange = onChange; }
  #changed() { if (this.#onChange) this.#onChange(this.toString()); }
  get size() { return this.#list.length; }
  append(name, value) { this.#list.push([String(name), String(value)]); this.#changed(); }
  delete(name, value) {
    name = String(name);
    this.#list = this.#list.filter(function (e) { return !(e[0] === name && (value === undefined || e[1] === String(value))); });
    this.#changed();
  }
  get(name) { name = String(name); var e = this.#list.find(function (e) { return e[0] === name; }); return e ? e[1] : null; }
  getAll(name) { name = String(name); return this.#list.filter(function (e) { return e[0] === name; }).map(function (e) { return e[1]; }); }
  has(name, value) { name = String(name); return this.#list.some(function (e) { return e[0] === name && (value === undefined || e[1] === String(value)); }); }
  set(name, value) {
    name = String(name); value = String(value);
    var i = this.#list.findIndex(function (e) { return e[0] === name; });
    if (i < 0) this.#list.push([name, value]);
    else { this.#list[i] = [name, value]; this.#list = this.#list.filter(function (e, j) { return j <= i || e[0] !== name; }); }
    this.#changed();
  }
  sort() { this.#list.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; }); this.#changed(); }
  forEach(callback, thisArg) { for (var e of this.#list) callback.call(thisArg, e[1], e[0], this); }
  *entries() { for (var e of this.#list.slice()) yield [e[0], e[1]]; }
  *keys() { for (var e of this.#list.slice()) yield e[0]; }
  *values() { for (var e of this.#list.slice()) yield e[1]; }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.#list.map(function (e) { return formEncode(e[0]) + "=" + formEncode(e[1]); }).join("&"); }
}

/* ---------- URL (special schemes, no IDNA: hosts are lower-cased ASCII as given) ---------- */
var DEFAULT_PORTS = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21" };
var encodePart = function (text, keep) {
  return text.replace(keep, function (c) { return utf8Encode(c).reduce(function (s, b) { return s + "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase(); }, ""); });
};
/* Not /u: QuickJS compiles negated /u classes slowly; pairs are matched explicitly instead. */
var PATH_ESCAPE = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[^A-Za-z0-9\-._~!$&'()*+,;=:@\/%]/g;
var QUERY_ESCAPE = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[^A-Za-z0-9\-._~!$&'()*+,;=:@\/?%]/g;
var HASH_ESCAPE = /[\uD800-\uDBFF][\uDC00-\uDFFF]|[^A-Za-z0-9\-._~!$&'()*+,;=:@\/?%#]/g;
function normalizePath(path) {
  var out = [];
  var segments = path.split("/");
  for (var i = 1; i < segments.length; i++) {
    var s = segments[i], last = i === segments.length - 1;
    var lower = s.toLowerCase();
    if (s === ".." || lower === "%2e%2e" || lower === ".%2e" || lower === "%2e.") { out.pop(); if (last) out.push(""); }
    else if (s === "." || lower === "%2e") { if (last) out.push(""); }
    else out.push(s);
  }
  return "/" + out.join("/");
}
class URL {
  #protocol = ""; #username = ""; #password = ""; #hostname = ""; #port = ""; #pathname = "/"; #search = ""; #hash = "";
  #params = null;
  constructor(input, base) {
    input = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "").replace(/[\t\n\r]/g, "").replace(/\\/g, "/");
    var m = /^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$/.exec(input);
    if (m) this.#parseAbsolute(m[1].toLowerCase() + ":", m[2]);
    else {
      if (base === undefined) throw new TypeError("Invalid URL: " + input);
      var b = base instanceof URL ? base : new URL(base);
      this.#protocol = b.protocol; this.#username = b.username; this.#password = b.password;
      this.#hostname = b.hostname; this.#port = b.port;
      if (input.slice(0, 2) === "//") { this.#parseAbsolute(b.protocol, input); return; }
      var rest = this.#splitTail(input);
      if (rest === "") { this.#pathname = b.pathname; if (this.#search === "" && input.charAt(0) !== "?") this.#search = b.search; }
      else if (rest.charAt(0) === "/") this.#pathname = normalizePath(encodePart(rest, PATH_ESCAPE));
      else this.#pathname = normalizePath(b.pathname.replace(/[^\/]*$/, "") + encodePart(rest, PATH_ESCAPE));
    }
  }
  #splitTail(text) {
    var h = text.indexOf("#");
    if (h >= 0) { this.#hash = h === text.length - 1 ? "" : "#" + encodePart(text.slice(h + 1), HASH_ESCAPE); text = text.slice(0, h); }
    var q = text.indexOf("?");
    if (q >= 0) { this.#search = q === text.length - 1 ? "" : "?" + encodePart(text.slice(q + 1), QUERY_ESCAPE); text = text.slice(0, q); }
    return text;
  }
  #parseAbsolute(protocol, rest) {
    this.#protocol = protocol;
    if (!(protocol in DEFAULT_PORTS)) throw new TypeError("Invalid URL: only http, https, ws, wss and ftp URLs are supported, got " + protocol);
    rest = this.#splitTail(rest.replace(/^\/*/, ""));
    var slash = rest.indexOf("/");
    var authority = slash < 0 ? rest : rest.slice(0, slash);
    var path = slash < 0 ? "/" : rest.slice(slash);
    var at = authority.lastIndexOf("@");
    if (at >= 0) {
      var info = authority.slice(0, at), colon = info.indexOf(":");
      this.#username = encodePart(colon < 0 ? info : info.slice(0, colon), PATH_ESCAPE);
      this.#password = colon < 0 ? "" : encodePart(info.slice(colon + 1), PATH_ESCAPE);
      authority = authority.slice(at + 1);
    }
    var pm = /^(\[[0-9A-Fa-f:.]+\]|[^:]*)(?::([0-9]*))?$/.exec(authority);
    if (!pm || pm[1] === "" || /[\u0000-\u0020#%\/:<>?@\[\\\]^|]/.test(pm[1].charAt(0) === "[" ? "" : pm[1])) throw new TypeError("Invalid URL: bad host");
    this.#hostname = pm[1].toLowerCase();
    var port = pm[2] === undefined || pm[2] === "" ? "" : String(Number(pm[2]));
    if (port !== "" && Number(port) > 65535) throw new TypeError("Invalid URL: port out of range");
    this.#port = port === DEFAULT_PORTS[protocol] ? "" : port;
    this.#pathname = normalizePath(encodePart(path, PATH_ESCAPE));
  }
  static canParse(input, base) { try { new URL(input, base); return true; } catch (e) { return false; } }
  get protocol() { return this.#protocol; }
  get username() { return this.#username; }
  get password() { return this.#password; }
  get hostname() { return this.#hostname; }
  set hostname(value) { this.#hostname = String(value).toLowerCase(); }
  get port() { return this.#port; }
  set port(value) { value = String(value); this.#port = value === DEFAULT_PORTS[this.#protocol] ? "" : value; }
  get host() { return this.#hostname + (this.#port ? ":" + this.#port : ""); }
  get origin() { return this.#protocol + "//" + this.host; }
  get pathname() { return this.#pathname; }
  set pathname(value) { value = String(value); this.#pathname = normalizePath(encodePart(value.charAt(0) === "/" ? value : "/" + value, PATH_ESCAPE)); }
  get search() { return this.#search; }
  set search(value) {
    value = String(value); if (value.charAt(0) === "?") value = value.slice(1);
    this.#search = value === "" ? "" : "?" + encodePart(value, QUERY_ESCAPE);
    if (this.#params) URLSearchParams._link(this.#params, this.#search, this.#paramsChanged.bind(this));
  }
  #paramsChanged(text) { this.#search = text === "" ? "" : "?" + text; }
  get searchParams() {
    if (!this.#params) { this.#params = new URLSearchParams(); URLSearchParams._link(this.#params, this.#search, this.#paramsChanged.bind(this)); }
    return this.#params;
  }
  get hash() { return this.#hash; }
  set hash(value) { value = String(value); if (value.charAt(0) === "#") value = value.slice(1); this.#hash = value === "" ? "" : "#" + encodePart(value, HASH_ESCAPE); }
  get href() {
    var auth = this.#username || this.#password ? this.#username + (this.#password ? ":" + this.#password : "") + "@" : "";
    return this.#protocol + "//" + auth + this.host + this.#pathname + this.#search + this.#hash;
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
}

/* ---------- Headers ---------- */
var TOKEN = /^[!#$%&'*+\-.^_\x60|~0-9A-Za-z]+$/;
function headerName(name) {
  name = String(name);
  if (!TOKEN.test(name)) throw new TypeError("Invalid header name: " + JSON.stringify(name));
  return name.toLowerCase();
}
function headerValue(value) {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\u0000\n\r]/.test(value) || /[^\u0000-\u00ff]/.test(value)) throw new TypeError("Invalid header value");
  return value;
}
class Headers {
  #map = new Map();
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) { for (var e of init) this.append(e[0], e[1]); }
    else if (typeof init[Symbol.iterator] === "function") {
      for (var pair of init) { var p = Array.from(pair); if (p.length !== 2) throw new TypeError("Headers: each pair must have two items"); this.append(p[0], p[1]); }
    } else for (var key of Object.keys(init)) this.append(key, init[key]);
  }
  append(name, value) {
    name = headerName(name); value = headerValue(value);
    var old = this.#map.get(name);
    this.#map.set(name, old === undefined ? [value] : old.concat([value]));
  }
  delete(name) { this.#map.delete(headerName(name)); }
  get(name) {
    var values = this.#map.get(headerName(name));
    return values === undefined ? null : values.join(", ");
  }
  getSetCookie() { return (this.#map.get("set-cookie") || []).slice(); }
  has(name) { return this.#map.has(headerName(name)); }
  set(name, value) { this.#map.set(headerName(name), [headerValue(value)]); }
  forEach(callback, thisArg) { for (var e of this) callback.call(thisArg, e[1], e[0], this); }
  *entries() {
    var names = Array.from(this.#map.keys()).sort();
    for (var name of names) {
      if (name === "set-cookie") { for (var c of this.#map.get(name)) yield [name, c]; }
      else yield [name, this.#map.get(name).join(", ")];
    }
  }
  *keys() { for (var e of this.entries()) yield e[0]; }
  *values() { for (var e of this.entries()) yield e[1]; }
  [Symbol.iterator]() { return this.entries(); }
}

/* ---------- Body, Request, Response ---------- */
function toBody(body, headers) {
  if (body === undefined || body === null) return null;
  var type = null, bytes;
  if (typeof body === "string") { bytes = utf8Encode(body); type = "text/plain;charset=UTF-8"; }
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body.slice(0));
  else if (isView(body)) bytes = new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  else if (body instanceof URLSearchParams) { bytes = utf8Encode(body.toString()); type = "application/x-www-form-urlencoded;charset=UTF-8"; }
  else { bytes = utf8Encode(String(body)); type = "text/plain;charset=UTF-8"; }
  if (type !== null && !headers.has("content-type")) headers.set("content-type", type);
  return bytes;
}
class Body {
  #bytes; #used = false; #headers;
  _init(bytes, headers) { this.#bytes = bytes; this.#headers = headers; }
  get headers() { return this.#headers; }
  get body() { return this.#bytes === null ? null : this.#bytes; }
  get bodyUsed() { return this.#used; }
  _take() {
    if (this.#used) return Promise.reject(new TypeError("Body is unusable: it has already been read"));
    this.#used = true;
    return Promise.resolve(this.#bytes === null ? new Uint8Array(0) : this.#bytes.slice());
  }
  _peek() { return this.#bytes; }
  arrayBuffer() { return this._take().then(function (b) { return b.buffer; }); }
  bytes() { return this._take(); }
  text() { return this._take().then(function (b) { return utf8Decode(b, false); }); }
  json() { return this.text().then(function (text) { return parseJson(text); }); }
}
var METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
/* The URL of the request the host hands in: valid by construction, so its Request parses it only
   when .url is first read (most functions never read it; parsing is a tenth of a hello call). */
var hostUrl = null;
class Request extends Body {
  #method; #url; #input; #signal = null;
  constructor(input, init) {
    super();
    init = init || {};
    var source = input instanceof Request ? input : null;
    this.#input = input;
    this.#url = source ? source.url : input === hostUrl ? null : new URL(String(input)).href;
    var method = init.method !== undefined ? String(init.method) : source ? source.method : "GET";
    var upper = method.toUpperCase();
    this.#method = METHODS.indexOf(upper) >= 0 ? upper : method;
    var headers = new Headers(init.headers !== undefined ? init.headers : source ? source.headers : undefined);
    var body = init.body !== undefined ? toBody(init.body, headers) : source ? source._peek() : null;
    if (body !== null && (this.#method === "GET" || this.#method === "HEAD")) throw new TypeError("Request with GET/HEAD method cannot have a body");
    this._init(body, headers);
  }
  get method() { return this.#method; }
  get url() { return this.#url === null ? (this.#url = new URL(this.#input).href) : this.#url; }
  get signal() { return this.#signal; }
  clone() { return new Request(this); }
}
class Response extends Body {
  #status; #statusText; #type = "default";
  constructor(body, init) {
    super();
    init = init || {};
    var status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError("Response status must be 200 to 599, got " + init.status);
    var headers = new Headers(init.headers);
    var bytes = toBody(body, headers);
    if (bytes !== null && (status === 204 || status === 205 || status === 304)) throw new TypeError("Response with status " + status + " cannot have a body");
    this.#status = status;
    this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
    this._init(bytes, headers);
  }
  static json(data, init) {
    init = init || {};
    var headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(stringify(data), { status: init.status, statusText: init.statusText, headers: headers });
  }
  static redirect(url, status) {
    status = status === undefined ? 302 : status;
    if ([301, 302, 303, 307, 308].indexOf(status) < 0) throw new RangeError("Invalid redirect status " + status);
    return new Response(null, { status: status, headers: { location: new URL(url).href } });
  }
  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status < 300; }
  get type() { return this.#type; }
  get redirected() { return false; }
  get url() { return ""; }
  clone() { return new Response(this._peek(), { status: this.#status, statusText: this.#statusText, headers: this.headers }); }
}

/* ---------- crypto ---------- */
var DIGESTS = { "SHA-1": 1, "SHA-256": 1, "SHA-384": 1, "SHA-512": 1 };
var crypto = {
  getRandomValues: function (array) {
    if (!isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) throw new TypeError("getRandomValues: expected an integer typed array");
    if (array.byteLength > 65536) throw new RangeError("getRandomValues: at most 65536 bytes, got " + array.byteLength);
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(hostRandom(array.byteLength)));
    return array;
  },
  randomUUID: function () {
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.from(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  },
  subtle: {
    digest: function (algorithm, data) {
      try {
        var name = String(typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm).toUpperCase();
        if (!DIGESTS[name]) throw new Error("NotSupportedError: digest algorithm " + name + " is not supported");
        var bytes = bytesOf(data, "crypto.subtle.digest");
        return Promise.resolve(hostDigest(name, bytes.slice().buffer));
      } catch (error) { return Promise.reject(error); }
    },
  },
};

/* ---------- console ---------- */
function show(value, depth) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack ? String(value.stack).indexOf(String(value.message)) >= 0 ? String(value.stack) : value.name + ": " + value.message + "\n" + value.stack : value.name + ": " + value.message;
  if (typeof value === "function") return "[Function " + (value.name || "anonymous") + "]";
  if (typeof value === "bigint") return value + "n";
  if (typeof value === "symbol" || value === undefined || value === null || typeof value !== "object") return String(value);
  try { return stringify(value, function (k, v) { return typeof v === "bigint" ? v + "n" : v; }); }
  catch (e) { return Object.prototype.toString.call(value); }
}
var consoleObject = {};
["log", "info", "debug", "warn", "error", "trace"].forEach(function (level) {
  consoleObject[level] = function () {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
    hostLog(parts.join(" "));
  };
});

/* ---------- globals ---------- */
var g = globalThis;
define(g, "TextEncoder", TextEncoder); define(g, "TextDecoder", TextDecoder);
define(g, "atob", atob); define(g, "btoa", btoa);
define(g, "URL", URL); define(g, "URLSearchParams", URLSearchParams);
define(g, "Headers", Headers); define(g, "Request", Request); define(g, "Response", Response);
define(g, "crypto", crypto); define(g, "console", consoleObject);
define(g, "queueMicrotask", function (callback) { Promise.resolve().then(function () { callback(); }); });
define(g, "self", g);
delete g.__tfaas_host;

/* ---------- dispatch ---------- */
return function dispatch(namespace, meta, body) {
  var m = parseJson(meta);
  var exported = namespace.default;
  if (exported === null || typeof exported !== "object" && typeof exported !== "function" || typeof exported.fetch !== "function") {
    throw new TypeError("The module's default export has no fetch(request, env) method");
  }
  var hasBody = m.method !== "GET" && m.method !== "HEAD";
  hostUrl = m.url;
  var request = new Request(m.url, { method: m.method, headers: m.headers, body: hasBody ? body : null });
  return then(new PromiseCtor(function (resolve) { resolve(exported.fetch(request, m.env)); }), function (response) {
    if (!(response instanceof Response)) throw new TypeError("fetch must return a Response, got " + show(response));
    var bytes = response._peek();
    var copy = bytes === null ? new ArrayBuffer(0) : bytes.slice().buffer;
    return [response.status, stringify(arrayFrom(response.headers)), copy];
  });
};
})(globalThis.__tfaas_host)`;
