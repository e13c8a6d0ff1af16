/**
 * Big-endian byte writing and bounded reading for the receipt encodings. Every read names its
 * field, so truncated or malformed input fails as one clear `invalid-request`, never a RangeError.
 */
import { TfaasError } from "../shared/errors.js";
import { FieldReader } from "../shared/field-reader.js";

const TWO_32 = 2 ** 32;

/** Writes into a buffer sized up front by the caller (the encodings know their exact length). */
export class ByteWriter {
  readonly bytes: Buffer;
  private offset = 0;

  constructor(length: number) {
    this.bytes = Buffer.allocUnsafe(length);
  }

  u8(value: number): void {
    this.bytes[this.offset++] = value;
  }

  u16(value: number): void {
    this.bytes.writeUInt16BE(value, this.offset);
    this.offset += 2;
  }

  u32(value: number): void {
    this.bytes.writeUInt32BE(value, this.offset);
    this.offset += 4;
  }

  /** A non-negative safe integer as u64 (callers validate the range). */
  u64(value: number): void {
    this.bytes.writeUInt32BE(Math.floor(value / TWO_32), this.offset);
    this.bytes.writeUInt32BE(value % TWO_32, this.offset + 4);
    this.offset += 8;
  }

  bigU64(value: bigint): void {
    this.bytes.writeBigUInt64BE(value, this.offset);
    this.offset += 8;
  }

  raw(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }

  /** A string as UTF-8 whose byte length the caller measured (`Buffer.byteLength`). */
  utf8(value: string, byteLength: number): void {
    this.offset += this.bytes.write(value, this.offset, byteLength, "utf8");
  }

  /** Hex digits (already validated) as bytes, without an intermediate buffer. */
  hex(value: string): void {
    this.offset += this.bytes.write(value, this.offset, value.length / 2, "hex");
  }

  /** Checks that the precomputed length was exact: a mismatch is a bug in the encoder. */
  finish(): Buffer {
    if (this.offset !== this.bytes.length) {
      throw new TfaasError("internal", `Cannot finish encoding: wrote ${this.offset} bytes, expected ${this.bytes.length}`);
    }
    return this.bytes;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export class ByteReader extends FieldReader {
  u32(field: string): number {
    const b = this.take(field, 4);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }

  /** A u64 that must fit a JavaScript safe integer (all receipt counters do). */
  u64(field: string): number {
    const high = this.u32(field);
    const low = this.u32(field);
    if (high >= 2 ** 21) throw this.fail(field, "exceeds 2^53 - 1");
    return high * TWO_32 + low;
  }

  bigU64(field: string): bigint {
    const b = this.take(field, 8);
    return Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64BE(0);
  }

  /** A copy, so the result does not pin the input. */
  raw(field: string, length: number): Uint8Array {
    return Uint8Array.prototype.slice.call(this.take(field, length));
  }

  utf8(field: string, length: number): string {
    const bytes = this.take(field, length);
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.fail(field, "is not valid UTF-8");
    }
  }

  /** 0 → absent, 1 → present; any other value is malformed. */
  flag(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) throw this.fail(field, `has presence flag ${value}, expected 0 or 1`);
    return value === 1;
  }

  end(): void {
    if (this.remaining !== 0) throw this.fail("end", `has ${this.remaining} trailing bytes`);
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url (no padding, no other alphabet), so every value has exactly one spelling. */
export function fromBase64Url(text: string, what: string): Uint8Array {
  const bytes = BASE64URL.test(text) && text.length % 4 !== 1 ? Buffer.from(text, "base64url") : undefined;
  if (bytes === undefined || bytes.toString("base64url") !== text) {
    throw new TfaasError("invalid-request", `Cannot decode ${what}: value is not canonical base64url`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
