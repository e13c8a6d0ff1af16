/**
 * Section-level walker over the WebAssembly binary format: LEB128 integers, the list of
 * top-level sections, and replacing one section's payload while every other byte is copied
 * untouched. It checks framing only (magic, version, section sizes), never section contents;
 * the engine validates the rest when the module is compiled.
 */
import { TfaasError } from "../shared/errors.js";

export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
  tag: 13,
} as const;

export interface Section {
  id: number;
  /** Offset of the section's id byte. */
  start: number;
  payloadOffset: number;
  payloadSize: number;
  /** Offset just past the payload. */
  end: number;
}

export interface LebValue {
  value: number;
  /** Offset just past the encoded integer. */
  next: number;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00] as const;
const HEADER_SIZE = HEADER.length;

function malformed(detail: string): TfaasError {
  return new TfaasError("invalid-artifact", `Cannot read WebAssembly module: ${detail}`);
}

/** Reads an unsigned LEB128 integer of at most 32 bits (at most 5 bytes, unused high bits zero). */
export function readVarUint32(bytes: Uint8Array, offset: number): LebValue {
  let value = 0;
  for (let index = 0; index < 5; index++) {
    const byte = bytes[offset + index];
    if (byte === undefined) throw malformed(`integer at offset ${offset} runs past the end`);
    if (index === 4 && byte > 0x0f) throw malformed(`integer at offset ${offset} exceeds 32 bits`);
    // Multiplication instead of shifts keeps values above 2^31 positive.
    value += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) return { value, next: offset + index + 1 };
  }
  throw malformed(`integer at offset ${offset} is longer than 5 bytes`);
}

/** Shortest unsigned LEB128 encoding of a 32-bit value. */
export function encodeVarUint32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`Cannot encode as u32: current value is ${value}`);
  }
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    out.push(rest === 0 ? low : low | 0x80);
  } while (rest !== 0);
  return Uint8Array.from(out);
}

/** The module's top-level sections in file order. */
export function readSections(bytes: Uint8Array): Section[] {
  if (bytes.length < HEADER_SIZE || HEADER.some((byte, index) => bytes[index] !== byte)) {
    throw malformed("it does not start with the WebAssembly magic number and version 1");
  }
  const sections: Section[] = [];
  let offset: number = HEADER_SIZE;
  while (offset < bytes.length) {
    const id = bytes[offset] as number;
    const size = readVarUint32(bytes, offset + 1);
    const end = size.next + size.value;
    if (end > bytes.length) {
      throw malformed(`section ${id} at offset ${offset} claims ${size.value} bytes but only ${bytes.length - size.next} remain`);
    }
    sections.push({ id, start: offset, payloadOffset: size.next, payloadSize: size.value, end });
    offset = end;
  }
  return sections;
}

/** A copy of `bytes` in which `section`'s payload is `payload`; everything else byte for byte. */
export function replaceSectionPayload(bytes: Uint8Array, section: Section, payload: Uint8Array): Uint8Array {
  const size = encodeVarUint32(payload.length);
  const out = new Uint8Array(bytes.length - (section.end - section.start) + 1 + size.length + payload.length);
  out.set(bytes.subarray(0, section.start), 0);
  let offset = section.start;
  out[offset++] = section.id;
  out.set(size, offset);
  offset += size.length;
  out.set(payload, offset);
  offset += payload.length;
  out.set(bytes.subarray(section.end), offset);
  return out;
}
