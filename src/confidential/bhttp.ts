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
import { WireReader, WireWriter } from "./wire.js";

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

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function textBytes(text: string, what: string): Uint8Array {
  // Characters above 0xff would be silently truncated by latin1 encoding.
  if (/[^\x00-\xff]/.test(text)) throw new TfaasError("invalid-request", `Cannot encode binary HTTP: ${what} has characters outside 0x00–0xff`);
  return Buffer.from(text, "latin1");
}

function checkFieldName(name: string, fail: (problem: string) => TfaasError): void {
  if (!FIELD_NAME.test(name)) throw fail(`is not a lowercase field name token: current value is ${JSON.stringify(name.slice(0, 64))}`);
}

function checkFieldValue(value: string, fail: (problem: string) => TfaasError): void {
  // The value itself is not echoed: it may carry a credential.
  if (!FIELD_VALUE.test(value)) throw fail("has a NUL, CR or LF, or leading or trailing whitespace");
}

function checkControl(value: string, pattern: RegExp, fail: (problem: string) => TfaasError): void {
  if (!pattern.test(value)) throw fail(`is not valid: current value is ${JSON.stringify(value.slice(0, 64))}`);
}

// ---- encoding ----

function encodeFields(fields: readonly BhttpField[], section: string): Uint8Array {
  const writer = new WireWriter();
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase();
    const fail = (problem: string) => new TfaasError("invalid-request", `Cannot encode binary HTTP: ${section} field ${JSON.stringify(name.slice(0, 64))} ${problem}`);
    checkFieldName(name, fail);
    checkFieldValue(value, fail);
    writer.lengthPrefixed(textBytes(name, `${section} field name`)).lengthPrefixed(textBytes(value, `${section} field value`));
  }
  return writer.finish();
}

/** Header section, content and trailers, dropping empty sections at the end (RFC 9292 §3.8). */
function writeSections(writer: WireWriter, headers: Uint8Array, content: Uint8Array, trailers: Uint8Array): void {
  const sections = [headers, content, trailers];
  let last = sections.length;
  while (last > 0 && sections[last - 1]!.length === 0) last--;
  for (let i = 0; i < last; i++) writer.lengthPrefixed(sections[i]!);
}

export function encodeBhttpRequest(request: BhttpRequest): Uint8Array<ArrayBuffer> {
  const fail = (field: string) => (problem: string) => new TfaasError("invalid-request", `Cannot encode binary HTTP request: ${field} ${problem}`);
  checkControl(request.method, METHOD, fail("method"));
  checkControl(request.scheme, CONTROL_TEXT, fail("scheme"));
  checkControl(request.authority, CONTROL_TEXT, fail("authority"));
  checkControl(request.path, CONTROL_TEXT, fail("path"));
  const writer = new WireWriter()
    .varint(KNOWN_LENGTH_REQUEST)
    .lengthPrefixed(Buffer.from(request.method, "latin1"))
    .lengthPrefixed(Buffer.from(request.scheme, "latin1"))
    .lengthPrefixed(Buffer.from(request.authority, "latin1"))
    .lengthPrefixed(Buffer.from(request.path, "latin1"));
  writeSections(writer, encodeFields(request.headers, "header"), request.content, encodeFields(request.trailers, "trailer"));
  return writer.finish();
}

export function encodeBhttpResponse(response: BhttpResponse): Uint8Array<ArrayBuffer> {
  const writer = new WireWriter().varint(KNOWN_LENGTH_RESPONSE);
  for (const interim of response.informational) {
    if (!Number.isInteger(interim.status) || interim.status < 100 || interim.status > 199) {
      throw new TfaasError("invalid-request", `Cannot encode binary HTTP response: informational status is ${interim.status}, expected 100–199`);
    }
    writer.varint(interim.status).lengthPrefixed(encodeFields(interim.headers, "informational header"));
  }
  if (!Number.isInteger(response.status) || response.status < 200 || response.status > 599) {
    throw new TfaasError("invalid-request", `Cannot encode binary HTTP response: status is ${response.status}, expected 200–599`);
  }
  writer.varint(response.status);
  writeSections(writer, encodeFields(response.headers, "header"), response.content, encodeFields(response.trailers, "trailer"));
  return writer.finish();
}

// ---- decoding ----

function decodeFields(reader: WireReader, section: string): BhttpField[] {
  const bytes = reader.lengthPrefixed(`${section} section`);
  const fields = new WireReader(bytes, `binary HTTP ${section} section`);
  const out: BhttpField[] = [];
  while (fields.remaining > 0) {
    const at = reader.offset - bytes.length + fields.offset;
    const name = latin1(fields.lengthPrefixed("field name"));
    const value = latin1(fields.lengthPrefixed("field value"));
    const fail = (problem: string) => new TfaasError("invalid-request", `Cannot decode binary HTTP: ${section} field at offset ${at} ${problem}`);
    checkFieldName(name, fail);
    checkFieldValue(value, fail);
    out.push([name, value]);
  }
  return out;
}

interface Sections {
  headers: BhttpField[];
  content: Uint8Array;
  trailers: BhttpField[];
}

/** Header section, content, trailers — each may be cut off at its start (truncation) — then zero padding. */
function readSections(reader: WireReader): Sections {
  const headers = reader.remaining > 0 ? decodeFields(reader, "header") : [];
  const content = reader.remaining > 0 ? reader.lengthPrefixed("content").slice() : new Uint8Array(0);
  const trailers = reader.remaining > 0 ? decodeFields(reader, "trailer") : [];
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
  readFraming(reader, KNOWN_LENGTH_REQUEST, "request");
  const control = (field: string, pattern: RegExp): string => {
    const at = reader.offset;
    const value = latin1(reader.lengthPrefixed(field));
    checkControl(value, pattern, (problem) => reader.fail(field, problem, at));
    return value;
  };
  const method = control("method", METHOD);
  const scheme = control("scheme", CONTROL_TEXT);
  const authority = control("authority", CONTROL_TEXT);
  const path = control("path", CONTROL_TEXT);
  return { method, scheme, authority, path, ...readSections(reader) };
}

export function decodeBhttpResponse(bytes: Uint8Array): BhttpResponse {
  const reader = new WireReader(bytes, "binary HTTP response");
  readFraming(reader, KNOWN_LENGTH_RESPONSE, "response");
  const informational: BhttpInformational[] = [];
  for (;;) {
    const at = reader.offset;
    const status = reader.varint("status");
    if (status >= 100 && status <= 199) {
      informational.push({ status, headers: decodeFields(reader, "informational header") });
      continue;
    }
    if (status < 200 || status > 599) throw reader.fail("status", `is ${status}, expected 100–599`, at);
    return { informational, status, ...readSections(reader) };
  }
}
