/**
 * Bounds-checked access to the guest's linear memory. Every pointer and length a guest passes is
 * untrusted: an access outside memory throws `Fault`, which the syscall layer turns into EFAULT.
 * Views are refreshed when `memory.grow` has replaced the underlying buffer, so every accessor
 * runs the check before it touches a view.
 */

/** Thrown for a guest pointer or length outside linear memory; never escapes a syscall. */
export class Fault extends Error {}

const utf8 = new TextDecoder();

export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);

  bind(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  /** Checks [pointer, pointer + length) and returns the pointer as an unsigned offset. */
  #check(pointer: number, length: number): number {
    const memory = this.#memory;
    if (memory === undefined) throw new Fault("memory is not bound yet");
    if (this.#bytes.buffer !== memory.buffer) {
      this.#bytes = new Uint8Array(memory.buffer);
      this.#view = new DataView(memory.buffer);
    }
    const offset = pointer >>> 0;
    if (offset + (length >>> 0) > this.#bytes.length) throw new Fault(`access outside memory at ${offset}`);
    return offset;
  }

  /** A live view of guest bytes (not a copy). */
  bytes(pointer: number, length: number): Uint8Array {
    const offset = this.#check(pointer, length);
    return this.#bytes.subarray(offset, offset + (length >>> 0));
  }

  string(pointer: number, length: number): string {
    return utf8.decode(this.bytes(pointer, length));
  }

  write(pointer: number, data: Uint8Array): void {
    const offset = this.#check(pointer, data.length);
    this.#bytes.set(data, offset);
  }

  u32(pointer: number): number {
    const offset = this.#check(pointer, 4);
    return this.#view.getUint32(offset, true);
  }

  u64(pointer: number): bigint {
    const offset = this.#check(pointer, 8);
    return this.#view.getBigUint64(offset, true);
  }

  u16(pointer: number): number {
    const offset = this.#check(pointer, 2);
    return this.#view.getUint16(offset, true);
  }

  u8(pointer: number): number {
    const offset = this.#check(pointer, 1);
    return this.#view.getUint8(offset);
  }

  setU8(pointer: number, value: number): void {
    const offset = this.#check(pointer, 1);
    this.#view.setUint8(offset, value);
  }

  setU16(pointer: number, value: number): void {
    const offset = this.#check(pointer, 2);
    this.#view.setUint16(offset, value, true);
  }

  setU32(pointer: number, value: number): void {
    const offset = this.#check(pointer, 4);
    this.#view.setUint32(offset, value, true);
  }

  setU64(pointer: number, value: bigint): void {
    const offset = this.#check(pointer, 8);
    this.#view.setBigUint64(offset, value, true);
  }

  /** Fills a region with zeros (structs are written field by field over a cleared area). */
  zero(pointer: number, length: number): void {
    this.bytes(pointer, length).fill(0);
  }
}
