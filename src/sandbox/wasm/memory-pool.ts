/**
 * Linear memories reused across one function's calls. A new WebAssembly.Memory per call costs
 * more than the instance around it: the engine reserves its guard region (an mmap and a munmap
 * of gigabytes of address space), and a dead memory's backing store goes only at a full garbage
 * collection, which V8 then ran every ~60 calls (docs/architecture.md, "Memories are reused").
 *
 * `importMemory` turns a module that defines its one memory into one that imports it
 * (`tfaas`.`memory`, the same limits), so each instance can be handed a memory from the
 * function's MemoryPool. A memory goes back to the pool only at its initial size (memories never
 * shrink) and zeroed, so the next instance finds exactly what a new memory holds: zeros, then
 * its own data segments, which instantiation writes. Grown or large memories are dropped, and
 * modules whose memory is shared, 64-bit or not their own keep a new memory per call.
 */
import { ByteWriter } from "../../metering/bytes.js";
import { readSections, readVarUint32, replaceSectionPayload, SectionId, type Section } from "../../metering/sections.js";
import { WASM_PAGE_BYTES } from "../../shared/constants.js";

/** The import a rewritten module takes its memory from; no guest module may import it itself. */
export const POOLED_MEMORY_IMPORT = { module: "tfaas", name: "memory" } as const;

/** Memories larger than this are not kept: zeroing them would cost more than a new one. */
export const MAX_POOLED_MEMORY_BYTES = 2 * 1024 * 1024;
/** Calls of one function run one at a time in a worker; a second memory covers an overlap. */
const MAX_IDLE_MEMORIES = 2;

const HAS_MAXIMUM = 0x01;
const EXTERNAL_KIND_MEMORY = 0x02;

export interface MemoryLimits {
  initial: number;
  maximum?: number;
}

/**
 * The module rewritten to import its memory, and that memory's limits; undefined when the module
 * does not define exactly one plain (unshared, 32-bit) memory, which then stays as it is.
 */
export function importMemory(bytes: Uint8Array): { bytes: Uint8Array; limits: MemoryLimits } | undefined {
  const memorySection = readSections(bytes).find((section) => section.id === SectionId.memory);
  if (memorySection === undefined) return undefined;
  const limits = onePlainMemory(bytes, memorySection);
  if (limits === undefined) return undefined;

  // The memory section is emptied (a count of 0), then the import is added; the import section
  // comes earlier in the file, so its offsets survive the first edit.
  const withoutMemory = replaceSectionPayload(bytes, memorySection, Uint8Array.of(0));
  const sections = readSections(withoutMemory);
  const imports = sections.find((section) => section.id === SectionId.import);
  const payload = new ByteWriter();
  if (imports === undefined) {
    payload.u32(1);
  } else {
    const count = readVarUint32(withoutMemory, imports.payloadOffset);
    payload.u32(count.value + 1);
    payload.copy(withoutMemory, count.next, imports.end);
  }
  writeMemoryImport(payload, limits);
  if (imports !== undefined) return { bytes: replaceSectionPayload(withoutMemory, imports, payload.view()), limits };

  // No imports yet: a new import section goes after the type section (and custom sections before it).
  const at = sections.find((section) => section.id !== SectionId.custom && section.id !== SectionId.type)?.start ?? withoutMemory.length;
  const out = new ByteWriter(withoutMemory.length + payload.length + 6);
  out.copy(withoutMemory, 0, at);
  out.byte(SectionId.import);
  out.u32(payload.length);
  out.bytes(payload.view());
  out.copy(withoutMemory, at, withoutMemory.length);
  return { bytes: out.toBytes(), limits };
}

/** A function's idle memories, all of its initial size and zeroed. */
export class MemoryPool {
  readonly #limits: MemoryLimits;
  readonly #initialBytes: number;
  readonly #idle: WebAssembly.Memory[] = [];

  constructor(limits: MemoryLimits) {
    this.#limits = limits;
    this.#initialBytes = limits.initial * WASM_PAGE_BYTES;
  }

  /** A zeroed memory of the initial size: an idle one, else a new one (which may throw RangeError). */
  take(): WebAssembly.Memory {
    return this.#idle.pop() ?? new WebAssembly.Memory(this.#limits as WebAssembly.MemoryDescriptor);
  }

  /** Takes back a memory whose instance is done with it; keeps it only if it can be made as new. */
  give(memory: WebAssembly.Memory): void {
    const { buffer } = memory;
    if (buffer.byteLength !== this.#initialBytes || buffer.byteLength > MAX_POOLED_MEMORY_BYTES || this.#idle.length >= MAX_IDLE_MEMORIES) return;
    new Uint8Array(buffer).fill(0);
    this.#idle.push(memory);
  }
}

function onePlainMemory(bytes: Uint8Array, section: Section): MemoryLimits | undefined {
  const count = readVarUint32(bytes, section.payloadOffset);
  if (count.value !== 1) return undefined;
  const flags = bytes[count.next];
  if (flags === undefined || (flags & ~HAS_MAXIMUM) !== 0) return undefined;
  const initial = readVarUint32(bytes, count.next + 1);
  if ((flags & HAS_MAXIMUM) === 0) return initial.next === section.end ? { initial: initial.value } : undefined;
  const maximum = readVarUint32(bytes, initial.next);
  return maximum.next === section.end ? { initial: initial.value, maximum: maximum.value } : undefined;
}

function writeMemoryImport(w: ByteWriter, limits: MemoryLimits): void {
  w.name(POOLED_MEMORY_IMPORT.module);
  w.name(POOLED_MEMORY_IMPORT.name);
  w.byte(EXTERNAL_KIND_MEMORY);
  w.byte(limits.maximum === undefined ? 0 : HAS_MAXIMUM);
  w.u32(limits.initial);
  if (limits.maximum !== undefined) w.u32(limits.maximum);
}
