/**
 * Binary HTTP (RFC 9292), known-length form: what an Oblivious HTTP request or response carries.
 *
 * Encoding omits empty sections at the end of a message (RFC 9292 §3.8), so a GET with no header
 * fields is only its control data, as in RFC 9458's example. Decoding is strict: it accepts exactly
 * the known-length form (framing indicator 0 or 1), truncation at a section boundary and zero
 * padding; anything else — a field cut short, a length running past the end, non-zero padding, an
 * invalid field name or value, a final status out of range, the indeterminate-length form — fails
 * as `invalid-request` naming the field and offset.
 *
 * Field values travel as bytes; here they are strings with one character per byte (latin1), the
 * way Node's HTTP stack holds them, so every valid value round-trips exactly.
 */
import { TfaasError } from "../shared/errors.js";
import { varintLength, WireReader, writeVarint } from "./wire.js";

/** A field line: lowercase name and value. Order and repeated names are kept as sent. */
export type BhttpField = readonly [name: string, value: string];

export interface BhttpRequest {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  headers: readonly BhttpField[];
  content: Uint8Array;
  trailers: readonly BhttpField[];
}

export interface BhttpInformational {
  /** 100–199. */
  status: number;
  headers: readonly BhttpField[];
}

export interface BhttpResponse {
  /** Interim responses before the final one (decoded; encoded when given). */
  informational: readonly BhttpInformational[];
  /** 200–599. */
  status: number;
  headers: readonly BhttpField[];
  content: Uint8Array;
  trailers: readonly BhttpField[];
}

const KNOWN_LENGTH_REQUEST = 0;
const KNOWN_LENGTH_RESPONSE = 1;
const INDETERMINATE_REQUEST = 2;
const INDETERMINATE_RESPONSE = 3;

/** RFC 9110 token characters; field names must also be lowercase (as in HTTP/2 and HTTP/3). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const METHOD = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Field values: no NUL, CR or LF, no leading or trailing whitespace (RFC 9110 §5.5). */
const FIELD_VALUE = /^(?:[^\0\r\n\t ](?:[^\0\r\n]*[^\0\r\n\t ])?)?$/;
/** Control data: visible ASCII only (no spaces or controls that could split a request line). */
const CONTROL_TEXT = /^[\x21-\x7e]*$/;

function checkControl(value: string, pattern: RegExp, fail: (problem: string) => TfaasError): void {
  if (!pattern.test(value)) throw fail(`is not valid: current value is ${JSON.stringify(value.slice(0, 64))}`);
}

const NAME_PROBLEM = (name: string) => `is not a lowercase field name token: current value is ${JSON.stringify(name.slice(0, 64))}`;
// A value is never echoed: it may carry a credential.
const VALUE_PROBLEM = "has a NUL, CR or LF, or leading or trailing whitespace";
const WIDE = /[^\x00-\xff]/;

// ---- encoding: checked and measured first, then written once into a buffer of the exact size ----

/** Field lines, checked and lowercased, and the byte length of their section's content. */
interface CheckedFields {
  lines: BhttpField[];
  length: number;
}

function checkFields(fields: readonly BhttpField[], section: string): CheckedFields {
  const lines: BhttpField[] = [];
  let length = 0;
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase();
    const fail = (problem: string) => new TfaasError("invalid-request", `Cannot encode binary HTTP: ${section} field ${JSON.stringify(name.slice(0, 64))} ${problem}`);
    if (!FIELD_NAME.test(name)) throw fail(NAME_PROBLEM(name));
    if (!FIELD_VALUE.test(value)) throw fail(VALUE_PROBLEM);
    // Characters above 0xff would be silently truncated by latin1 encoding.
    if (WIDE.test(value)) throw new TfaasError("invalid-request", `Cannot encode binary HTTP: ${section} field value has characters outside 0x00–0xff`);
    length += varintLength(name.length) + name.length + varintLength(value.length) + value.length;
    lines.push([name, value]);
  }
  return { lines, length };
}

/** Header section, content and trailers, without the empty ones at the end (RFC 9292 §3.8). */
interface Sections {
  headers: CheckedFields;
  content: Uint8Array;
  trailers: CheckedFields;
  /** How many of the three are written. */
  count: number;
  length: number;
}

function layOutSections(headers: CheckedFields, content: Uint8Array, trailers: CheckedFields): Sections {
  const lengths = [headers.length, content.length, trailers.length];
  let count = lengths.length;
  while (count > 0 && lengths[count - 1] === 0) count--;
  let length = 0;
  for (let i = 0; i < count; i++) length += varintLength(lengths[i]!) + lengths[i]!;
  return { headers, content, trailers, count, length };
}

const prefixedLength = (text: string) => varintLength(text.length) + text.length;

/** Writes into a buffer laid out beforehand; text is latin1, one byte per character (checked before). */
class ExactWriter {
  readonly out: Uint8Array<ArrayBuffer>;
  private readonly text: Buffer;
  private position = 0;

  constructor(length: number) {
    this.out = new Uint8Array(length);
    this.text = Buffer.from(this.out.buffer, 0, length);
  }

  varint(value: number): this {
    this.position = writeVarint(this.out, this.position, value);
    return this;
  }

  string(text: string): this {
    this.varint(text.length);
    this.position += this.text.write(text, this.position, "latin1");
    return this;
  }

  bytes(bytes: Uint8Array): this {
    this.varint(bytes.length);
    this.out.set(bytes, this.position);
    this.position += bytes.length;
    return this;
  }

  fields({ lines, length }: CheckedFields): this {
    this.varint(length);
    for (const [name, value] of lines) this.string(name).string(value);
    return this;
  }

  sections({ headers, content, trailers, count }: Sections): this {
    if (count > 0) this.fields(headers);
    if (count > 1) this.bytes(content);
    if (count > 2) this.fields(trailers);
    return this;
  }

  finish(): Uint8Array<ArrayBuffer> {
    if (this.position !== this.out.length) throw new TfaasError("internal", `Cannot encode binary HTTP: wrote ${this.position} bytes, laid out ${this.out.length}`);
    return this.out;
  }
}

export function encodeBhttpRequest(request: BhttpRequest): Uint8Array<ArrayBuffer> {
  const fail = (field: string) => (problem: string) => new TfaasError("invalid-request", `Cannot encode binary HTTP request: ${field} ${problem}`);
  checkControl(request.method, METHOD, fail("method"));
  checkControl(request.scheme, CONTROL_TEXT, fail("scheme"));
  checkControl(request.authority, CONTROL_TEXT, fail("authority"));
  checkControl(request.path, CONTROL_TEXT, fail("path"));
  const sections = layOutSections(checkFields(request.headers, "header"), request.content, checkFields(request.trailers, "trailer"));
  const length = varintLength(KNOWN_LENGTH_REQUEST) + prefixedLength(request.method) + prefixedLength(request.scheme) + prefixedLength(request.authority) + prefixedLength(request.path) + sections.length;
  return new ExactWriter(length).varint(KNOWN_LENGTH_REQUEST).string(request.method).string(request.scheme).string(request.authority).string(request.path).sections(sections).finish();
}

export function encodeBhttpResponse(response: BhttpResponse): Uint8Array<ArrayBuffer> {
  let length = varintLength(KNOWN_LENGTH_RESPONSE);
  const informational: Array<{ status: number; headers: CheckedFields }> = [];
  for (const interim of response.informational) {
    if (!Number.isInteger(interim.status) || interim.status < 100 || interim.status > 199) {
      throw new TfaasError("invalid-request", `Cannot encode binary HTTP response: informational status is ${interim.status}, expected 100–199`);
    }
    const headers = checkFields(interim.headers, "informational header");
    length += varintLength(interim.status) + varintLength(headers.length) + headers.length;
    informational.push({ status: interim.status, headers });
  }
  if (!Number.isInteger(response.status) || response.status < 200 || response.status > 599) {
    throw new TfaasError("invalid-request", `Cannot encode binary HTTP response: status is ${response.status}, expected 200–599`);
  }
  const sections = layOutSections(checkFields(response.headers, "header"), response.content, checkFields(response.trailers, "trailer"));
  length += varintLength(response.status) + sections.length;
  const writer = new ExactWriter(length).varint(KNOWN_LENGTH_RESPONSE);
  for (const interim of informational) writer.varint(interim.status).fields(interim.headers);
  return writer.varint(response.status).sections(sections).finish();
}

// ---- decoding: one reader over the message; strings are cut from one latin1 view of it ----

/** The input as a Buffer, to cut latin1 strings from without a Buffer object per string. */
function textView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A varint length and that many bytes, as a latin1 string; `base` is where `reader`'s input starts in `text`. */
function readText(reader: WireReader, text: Buffer, base: number, field: string): string {
  const length = reader.lengthPrefixed(field).length;
  const end = base + reader.offset;
  return text.toString("latin1", end - length, end);
}

function decodeFields(reader: WireReader, text: Buffer, section: string): BhttpField[] {
  const bytes = reader.lengthPrefixed(`${section} section`);
  const base = reader.offset - bytes.length;
  const fields = new WireReader(bytes, `binary HTTP ${section} section`);
  const out: BhttpField[] = [];
  while (fields.remaining > 0) {
    const at = base + fields.offset;
    const name = readText(fields, text, base, "field name");
    const value = readText(fields, text, base, "field value");
    if (!FIELD_NAME.test(name)) throw new TfaasError("invalid-request", `Cannot decode binary HTTP: ${section} field at offset ${at} ${NAME_PROBLEM(name)}`);
    if (!FIELD_VALUE.test(value)) throw new TfaasError("invalid-request", `Cannot decode binary HTTP: ${section} field at offset ${at} ${VALUE_PROBLEM}`);
    out.push([name, value]);
  }
  return out;
}

interface DecodedSections {
  headers: BhttpField[];
  content: Uint8Array;
  trailers: BhttpField[];
}

/** Header section, content, trailers — each may be cut off at its start (truncation) — then zero padding. */
function readSections(reader: WireReader, text: Buffer): DecodedSections {
  const headers = reader.remaining > 0 ? decodeFields(reader, text, "header") : [];
  const content = reader.remaining > 0 ? reader.lengthPrefixed("content").slice() : new Uint8Array(0);
  const trailers = reader.remaining > 0 ? decodeFields(reader, text, "trailer") : [];
  const padding = reader.rest();
  const nonZero = padding.findIndex((byte) => byte !== 0);
  if (nonZero !== -1) throw new TfaasError("invalid-request", `Cannot decode binary HTTP: padding at offset ${reader.offset - padding.length + nonZero} is not zero`);
  return { headers, content, trailers };
}

function readFraming(reader: WireReader, expected: number, kind: string): void {
  const framing = reader.varint("framing indicator");
  if (framing === expected) return;
  if (framing === INDETERMINATE_REQUEST || framing === INDETERMINATE_RESPONSE) {
    throw new TfaasError("invalid-request", `Cannot decode binary HTTP ${kind}: indeterminate-length messages (framing indicator ${framing}) are not supported`);
  }
  throw new TfaasError("invalid-request", `Cannot decode binary HTTP ${kind}: framing indicator is ${framing}, expected ${expected} (known-length ${kind})`);
}

export function decodeBhttpRequest(bytes: Uint8Array): BhttpRequest {
  const reader = new WireReader(bytes, "binary HTTP request");
  const text = textView(bytes);
  readFraming(reader, KNOWN_LENGTH_REQUEST, "request");
  const control = (field: string, pattern: RegExp): string => {
    const at = reader.offset;
    const value = readText(reader, text, 0, field);
    checkControl(value, pattern, (problem) => reader.fail(field, problem, at));
    return value;
  };
  const method = control("method", METHOD);
  const scheme = control("scheme", CONTROL_TEXT);
  const authority = control("authority", CONTROL_TEXT);
  const path = control("path", CONTROL_TEXT);
  return { method, scheme, authority, path, ...readSections(reader, text) };
}

export function decodeBhttpResponse(bytes: Uint8Array): BhttpResponse {
  const reader = new WireReader(bytes, "binary HTTP response");
  const text = textView(bytes);
  readFraming(reader, KNOWN_LENGTH_RESPONSE, "response");
  const informational: BhttpInformational[] = [];
  for (;;) {
    const at = reader.offset;
    const status = reader.varint("status");
    if (status >= 100 && status <= 199) {
      informational.push({ status, headers: decodeFields(reader, text, "informational header") });
      continue;
    }
    if (status < 200 || status > 599) throw reader.fail("status", `is ${status}, expected 100–599`, at);
    return { informational, status, ...readSections(reader, text) };
  }
}
