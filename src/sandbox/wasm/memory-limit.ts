/**
 * Caps a module's linear memory by rewriting its memory section: the declared maximum becomes
 * min(declared maximum, limit), so `memory.grow` beyond the limit returns -1 inside the guest
 * instead of taking host memory. Imported memories never reach here (only WASI function
 * imports are accepted), so the memory section describes every memory the module has.
 */
import { encodeVarUint32, readSections, readVarUint32, replaceSectionPayload, SectionId } from "../../metering/sections.js";
import { WASM_PAGE_BYTES } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";

const HAS_MAXIMUM = 0x01;
const SHARED = 0x02;
const MEMORY64 = 0x04;

export function limitMemory(bytes: Uint8Array, limitBytes: number): Uint8Array {
  const limitPages = Math.floor(limitBytes / WASM_PAGE_BYTES);
  const section = readSections(bytes).find((candidate) => candidate.id === SectionId.memory);
  if (section === undefined) return bytes;

  const out: number[] = [];
  const count = readVarUint32(bytes, section.payloadOffset);
  out.push(...encodeVarUint32(count.value));
  let offset = count.next;
  for (let index = 0; index < count.value; index++) {
    const flags = bytes[offset];
    if (flags === undefined || flags > (HAS_MAXIMUM | SHARED | MEMORY64)) {
      throw new TfaasError("invalid-artifact", `Cannot prepare: memory ${index} has unknown limits flags ${flags ?? "(missing)"}`);
    }
    if ((flags & MEMORY64) !== 0) {
      throw new TfaasError("invalid-artifact", "Cannot prepare: 64-bit memories are not supported");
    }
    const initial = readVarUint32(bytes, offset + 1);
    offset = initial.next;
    let maximum = limitPages;
    if ((flags & HAS_MAXIMUM) !== 0) {
      const declared = readVarUint32(bytes, offset);
      offset = declared.next;
      maximum = Math.min(declared.value, limitPages);
    }
    if (initial.value > limitPages) {
      throw new TfaasError("invalid-artifact", `Cannot prepare: module needs ${initial.value} pages of memory, limit is ${limitPages}`);
    }
    out.push(flags | HAS_MAXIMUM, ...encodeVarUint32(initial.value), ...encodeVarUint32(maximum));
  }
  if (offset !== section.end) {
    throw new TfaasError("invalid-artifact", `Cannot prepare: memory section has ${section.end - offset} trailing bytes`);
  }
  return replaceSectionPayload(bytes, section, Uint8Array.from(out));
}
