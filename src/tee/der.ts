/**
 * A minimal DER walker: just enough ASN.1 to reach the signed bytes, algorithms, names, dates and
 * extensions of X.509 certificates and CRLs. It accepts definite lengths only (DER forbids the
 * rest) and never allocates more than the input; anything else is `invalid-request`.
 */
import { TfaasError } from "../shared/errors.js";

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

export interface DerNode {
  tag: number;
  /** Offset of the tag byte in the whole input. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
  /** The whole input, so `raw()`/`content()` are views, not copies. */
  input: Uint8Array;
}

function derError(what: string, offset: number, problem: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot parse DER ${what} at offset ${offset}: ${problem}`);
}

export function readNode(input: Uint8Array, offset: number, limit = input.length, what = "element"): DerNode {
  if (offset + 2 > limit) throw derError(what, offset, `needs a tag and length: current remaining length is ${limit - offset}`);
  const tag = input[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw derError(what, offset, `current tag 0x${tag.toString(16)} uses the multi-byte form, which is not supported`);
  let length = input[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw derError(what, offset, `current length form has ${count} length bytes`);
    if (contentStart + count > limit) throw derError(what, offset, "length bytes run past the end");
    length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + (input[contentStart + index] as number);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw derError(what, offset, `content of ${length} bytes runs past the end (current limit ${limit})`);
  return { tag, start: offset, contentStart, end, input };
}

export function raw(node: DerNode): Uint8Array {
  return node.input.subarray(node.start, node.end);
}

export function content(node: DerNode): Uint8Array {
  return node.input.subarray(node.contentStart, node.end);
}

/** The direct children of a constructed node. */
export function children(node: DerNode): DerNode[] {
  const result: DerNode[] = [];
  let offset = node.contentStart;
  while (offset < node.end) {
    const child = readNode(node.input, offset, node.end);
    result.push(child);
    offset = child.end;
  }
  return result;
}

export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) {
    throw derError(what, node.start, `current tag is 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  }
  return node;
}

/** Child `index`, which must exist. */
export function child(node: DerNode, index: number, what: string): DerNode {
  const found = children(node)[index];
  if (found === undefined) throw derError(what, node.start, `current element has no child ${index}`);
  return found;
}

/** Parses a whole input that must be exactly one element. */
export function parseDer(input: Uint8Array, what: string): DerNode {
  const node = readNode(input, 0, input.length, what);
  if (node.end !== input.length) throw derError(what, node.end, `current input has ${input.length - node.end} trailing bytes`);
  return node;
}

export function decodeOid(node: DerNode): string {
  const bytes = content(expectTag(node, Tag.oid, "OBJECT IDENTIFIER"));
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/** A non-negative INTEGER as a bigint (DER's leading zero for sign is dropped). */
export function decodeUnsignedInteger(node: DerNode): bigint {
  const bytes = content(expectTag(node, Tag.integer, "INTEGER"));
  if (bytes.length === 0) throw derError("INTEGER", node.start, "current length is 0");
  if ((bytes[0] as number) & 0x80) throw derError("INTEGER", node.start, "current value is negative");
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The bits of a BIT STRING with no unused bits (signatures, keys). */
export function decodeBitString(node: DerNode): Uint8Array {
  const bytes = content(expectTag(node, Tag.bitString, "BIT STRING"));
  if (bytes[0] !== 0) throw derError("BIT STRING", node.start, `current unused-bit count is ${bytes[0] ?? "missing"}`);
  return bytes.subarray(1);
}

export function decodeTime(node: DerNode): Date {
  const text = Buffer.from(content(node)).toString("latin1");
  let match: RegExpExecArray | null;
  if (node.tag === Tag.utcTime && (match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    const year = Number(match[1]);
    return utc(year < 50 ? 2000 + year : 1900 + year, match);
  }
  if (node.tag === Tag.generalizedTime && (match = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    return utc(Number(match[1]), match);
  }
  throw derError("time", node.start, `current value ${JSON.stringify(text)} is not a DER UTCTime or GeneralizedTime`);
}

function utc(year: number, match: RegExpExecArray): Date {
  const [, , month, day, hour, minute, second] = match.map(Number) as number[];
  return new Date(Date.UTC(year, (month as number) - 1, day, hour, minute, second));
}
