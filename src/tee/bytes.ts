/**
 * Bounded little-endian reads over evidence bytes. Every read names its field, so a truncated or
 * malformed report fails with the field and offset that did not fit, never with a RangeError.
 */
import { TfaasError } from "../shared/errors.js";

/** Evidence that cannot be parsed: `invalid-request`, naming the format, field and offset. */
export function invalidEvidence(format: string, field: string, offset: number, problem: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot parse ${format}: field ${field} at offset 0x${offset.toString(16)} ${problem}`);
}

export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly format: string,
  ) {}

  /** `length` bytes at `offset` (a copy, so callers may keep it without pinning the input). */
  slice(field: string, offset: number, length: number): Uint8Array {
    this.require(field, offset, length);
    return new Uint8Array(this.bytes.subarray(offset, offset + length));
  }

  u8(field: string, offset: number): number {
    this.require(field, offset, 1);
    return this.bytes[offset] as number;
  }

  u16(field: string, offset: number): number {
    this.require(field, offset, 2);
    return this.view().getUint16(offset, true);
  }

  u32(field: string, offset: number): number {
    this.require(field, offset, 4);
    return this.view().getUint32(offset, true);
  }

  u64(field: string, offset: number): bigint {
    this.require(field, offset, 8);
    return this.view().getBigUint64(offset, true);
  }

  require(field: string, offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw invalidEvidence(
        this.format,
        field,
        offset,
        `needs ${length} bytes: current input length is ${this.bytes.length}`,
      );
    }
  }

  fail(field: string, offset: number, problem: string): TfaasError {
    return invalidEvidence(this.format, field, offset, problem);
  }

  private view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
