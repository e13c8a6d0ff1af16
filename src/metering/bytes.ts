/**
 * Bounded reading and growable writing of WebAssembly binary encodings. Every read checks the
 * bytes that remain and the exact LEB128 rules (length and unused high bits), so malformed or
 * hostile input ends in one `invalid-artifact` error naming the offset, never in a crash.
 */
import { TfaasError } from "../shared/errors.js";

export function malformed(offset: number, detail: string): TfaasError {
  return new TfaasError("invalid-artifact", `Cannot instrument WebAssembly module: ${detail} at offset ${offset}`);
}

export class ByteReader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    /** Offset just past the last byte this reader may read. */
    readonly end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) throw malformed(this.pos, "unexpected end of data");
    return this.bytes[this.pos++] as number;
  }

  skip(count: number): void {
    if (count > this.end - this.pos) throw malformed(this.pos, `${count} bytes expected but only ${this.end - this.pos} remain`);
    this.pos += count;
  }

  u32(): number {
    // Most integers fit in one byte.
    const first = this.bytes[this.pos];
    if (first !== undefined && first < 0x80 && this.pos < this.end) {
      this.pos++;
      return first;
    }
    const start = this.pos;
    let value = 0;
    for (let index = 0; index < 5; index++) {
      const byte = this.byte();
      if (index === 4) {
        if ((byte & 0x80) !== 0) throw malformed(start, "unsigned LEB128 integer is longer than 5 bytes");
        if (byte > 0x0f) throw malformed(start, "unsigned LEB128 integer exceeds 32 bits");
      }
      value += (byte & 0x7f) * 2 ** (7 * index);
      if ((byte & 0x80) === 0) return value;
    }
    throw malformed(start, "unsigned LEB128 integer is too long");
  }

  /** A vector length, rejected when even one byte per element could not fit in what remains. */
  count(what: string): number {
    const start = this.pos;
    const value = this.u32();
    if (value > this.remaining) throw malformed(start, `${what} count ${value} exceeds the ${this.remaining} bytes that remain`);
    return value;
  }

  /** Skips a signed LEB128 integer of `bits` bits, checking its length and sign extension. */
  skipSigned(bits: 32 | 33 | 64): void {
    this.signed(bits);
  }

  /** Reads a signed LEB128 integer of at most 32 bits (i32.const) as a number. */
  s32(): number {
    return this.signed(32);
  }

  /** Reads a signed LEB128 integer of at most 33 bits (block types) as a number. */
  s33(): number {
    return this.signed(33);
  }

  private signed(bits: 32 | 33 | 64): number {
    const first = this.bytes[this.pos];
    if (first !== undefined && first < 0x80 && this.pos < this.end) {
      this.pos++;
      return first & 0x40 ? first - 0x80 : first;
    }
    const start = this.pos;
    const maxBytes = bits === 64 ? 10 : 5;
    let value = 0;
    let scale = 1;
    for (let index = 0; index < maxBytes; index++) {
      if (this.pos >= this.end) throw malformed(this.pos, "unexpected end of data");
      const byte = this.bytes[this.pos++] as number;
      if (index === maxBytes - 1) {
        if ((byte & 0x80) !== 0) throw malformed(start, `signed LEB128 integer is longer than ${maxBytes} bytes`);
        // Bits above the integer's width must repeat its sign bit.
        const usedBits = bits - 7 * index;
        const unusedMask = 0x7f & ~((1 << usedBits) - 1) & 0x7f;
        const signSet = (byte & (1 << (usedBits - 1))) !== 0;
        if ((byte & unusedMask) !== (signSet ? unusedMask : 0)) throw malformed(start, `signed LEB128 integer exceeds ${bits} bits`);
      }
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        // Exact below 53 bits, which is all callers use the value for (i32 constants, block types).
        return (byte & 0x40) !== 0 && index < 7 ? value - scale : value;
      }
    }
    throw malformed(start, "signed LEB128 integer is too long");
  }
}

/** An append-only byte buffer that doubles its capacity as it grows. */
export class ByteWriter {
  private buffer: Uint8Array<ArrayBuffer>;
  length = 0;

  constructor(capacity = 1024) {
    this.buffer = new Uint8Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** Forgets the written bytes and keeps the capacity, for reuse. */
  reset(): void {
    this.length = 0;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(values: Uint8Array): void {
    this.copy(values, 0, values.length);
  }

  /** Appends source[start, end); short runs byte by byte, which beats creating a view to copy. */
  copy(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    if (count < 32) {
      const buffer = this.buffer;
      let at = this.length;
      for (let index = start; index < end; index++) buffer[at++] = source[index] as number;
    } else {
      this.buffer.set(source.subarray(start, end), this.length);
    }
    this.length += count;
  }

  u32(value: number): void {
    this.reserve(5);
    let rest = value;
    do {
      const low = rest % 128;
      rest = Math.floor(rest / 128);
      this.buffer[this.length++] = rest === 0 ? low : low | 0x80;
    } while (rest !== 0);
  }

  /** Signed LEB128 of a safe integer, without BigInt. */
  sInt(value: number): void {
    this.reserve(10);
    let rest = value;
    for (;;) {
      const low = ((rest % 128) + 128) % 128;
      rest = (rest - low) / 128;
      const done = (rest === 0 && (low & 0x40) === 0) || (rest === -1 && (low & 0x40) !== 0);
      this.buffer[this.length++] = done ? low : low | 0x80;
      if (done) return;
    }
  }

  /** Signed LEB128 of any 64-bit integer. */
  s64(value: bigint): void {
    this.reserve(10);
    let rest = BigInt.asIntN(64, value);
    for (;;) {
      const low = Number(rest & 0x7fn);
      rest >>= 7n;
      const done = (rest === 0n && (low & 0x40) === 0) || (rest === -1n && (low & 0x40) !== 0);
      this.buffer[this.length++] = done ? low : low | 0x80;
      if (done) return;
    }
  }

  /** Name as a length-prefixed UTF-8 string. */
  name(text: string): void {
    const encoded = new TextEncoder().encode(text);
    this.u32(encoded.length);
    this.bytes(encoded);
  }

  /** A copy of exactly the written bytes. */
  toBytes(): Uint8Array<ArrayBuffer> {
    return this.buffer.slice(0, this.length);
  }

  /** The written bytes without copying; valid until the next write. */
  view(): Uint8Array<ArrayBuffer> {
    return this.buffer.subarray(0, this.length);
  }
}
