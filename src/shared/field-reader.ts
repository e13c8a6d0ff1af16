/**
 * Sequential big-endian reads in which every read names its field, so truncated or garbled input
 * fails as one `invalid-request` naming the format, the field and the offset — never a
 * RangeError, never a silently short value. The receipt encodings (src/crypto) and the
 * confidential wire formats (src/confidential) extend it with their own field types.
 */
import { TfaasError } from "./errors.js";

export class FieldReader {
  protected position = 0;

  /** `format` names the encoding in messages ("receipt", "binary HTTP request"). */
  constructor(
    protected readonly bytes: Uint8Array,
    private readonly format: string,
  ) {}

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  /** An error naming the field and where it starts (`at`, by default the current offset). */
  fail(field: string, problem: string, at = this.position): TfaasError {
    return new TfaasError("invalid-request", `Cannot decode ${this.format}: ${field} at offset ${at} ${problem}`);
  }

  /** A view into the input (no copy); callers that keep it past the input's lifetime copy it. */
  take(field: string, length: number): Uint8Array {
    if (length > this.remaining) throw this.fail(field, `needs ${length} bytes, ${this.remaining} left`);
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }

  u8(field: string): number {
    return this.take(field, 1)[0]!;
  }

  u16(field: string): number {
    const b = this.take(field, 2);
    return (b[0]! << 8) | b[1]!;
  }
}
