/**
 * Byte reading and writing for the confidential wire formats (Binary HTTP, Oblivious HTTP, sealed
 * artifacts). Every read names its field, so truncated or garbled input fails as one clear
 * `invalid-request` naming the format, the field and the offset — never a RangeError, and never a
 * silently short value.
 */
import { TfaasError } from "../shared/errors.js";
import { FieldReader } from "../shared/field-reader.js";

/** The largest varint value we accept: JavaScript's safe integers (RFC 9000 allows up to 2^62 - 1). */
const MAX_VARINT = Number.MAX_SAFE_INTEGER;

export class WireReader extends FieldReader {
  /** Everything that is left. */
  rest(): Uint8Array {
    return this.take("rest", this.remaining);
  }

  /** A QUIC variable-length integer (RFC 9000 §16): the top two bits of the first byte give its length. */
  varint(field: string): number {
    if (this.remaining === 0) throw this.fail(field, "needs 1 byte, 0 left");
    const first = this.bytes[this.position]!;
    const length = 1 << (first >> 6);
    const b = this.take(field, length);
    let value = first & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + b[i]!;
    if (value > MAX_VARINT) throw this.fail(field, `exceeds ${MAX_VARINT}`);
    return value;
  }

  /** A varint length followed by that many bytes. */
  lengthPrefixed(field: string): Uint8Array {
    const length = this.varint(`${field} length`);
    return this.take(field, length);
  }
}

/** Collects parts and joins them once; formats here are small and built once per message. */
export class WireWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  u8(value: number): this {
    return this.raw(Uint8Array.of(value));
  }

  u16(value: number): this {
    return this.raw(Uint8Array.of(value >> 8, value & 0xff));
  }

  varint(value: number): this {
    return this.raw(encodeVarint(value));
  }

  lengthPrefixed(bytes: Uint8Array): this {
    return this.varint(bytes.length).raw(bytes);
  }

  finish(): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** The shortest QUIC varint encoding of a non-negative safe integer. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TfaasError("invalid-request", `Cannot encode varint: current value is ${value}, expected a non-negative safe integer`);
  }
  if (value < 0x40) return Uint8Array.of(value);
  if (value < 0x4000) return Uint8Array.of(0x40 | (value >> 8), value & 0xff);
  if (value < 0x40000000) return Uint8Array.of(0x80 | (value >>> 24), (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  const out = new Uint8Array(8);
  let rest = value;
  for (let i = 7; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0] = out[0]! | 0xc0;
  return out;
}

/** How many bytes the shortest varint encoding of `value` takes (value as encodeVarint accepts it). */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes the shortest varint encoding of `value` at `offset` (room checked by the caller); returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  if (value >= 0 && value < 0x40 && Number.isInteger(value)) {
    out[offset] = value;
    return offset + 1;
  }
  const encoded = encodeVarint(value);
  out.set(encoded, offset);
  return offset + encoded.length;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const writer = new WireWriter();
  for (const part of parts) writer.raw(part);
  return writer.finish();
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
