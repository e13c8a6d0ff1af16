/**
 * `instrument(bytes)`: the metering rewrite of a whole module. Function bodies are rewritten
 * (body.ts); the global and export sections get the metering globals appended after their
 * existing entries, so no index the module uses moves; every other section, custom sections
 * included, is copied byte for byte. The result is not validated here: the engine does that
 * when it compiles the module, as it would have for the original.
 */
import { TfaasError } from "../shared/errors.js";
import type { BodyFlags, BodyStats, InternalForm, MeteringGlobals } from "./body.js";
import { BodyRewriter } from "./body.js";
import { ByteReader, ByteWriter, malformed } from "./bytes.js";
import type { FunctionType, ModuleInfo } from "./module.js";
import { readModuleInfo, sectionRankOf } from "./module.js";
import { SectionId } from "./sections.js";
import type { Section } from "./sections.js";
import type { WeightTable } from "./weights.js";
import { checkWeightTable, weightsV1 } from "./weights.js";

/** The globals every instrumented module exports, in the order they are appended. */
export const MeteringExports = {
  /**
   * i64, mutable: the fuel counter, fuel consumed minus the limit: it counts up from -limit, and a
   * check traps when it is above 0. Consumed = this + `__tfaas_fuel_limit` (usage.ts).
   */
  fuel: "__tfaas_fuel",
  /** i64, mutable: the budget, starting at 2^63-1 (unlimited). Only the host reads it: setFuelLimit moves the counter with it. */
  fuelLimit: "__tfaas_fuel_limit",
  /** i32, mutable: 1 once a check has trapped for exhausted fuel. */
  fuelExhausted: "__tfaas_fuel_exhausted",
  /** i32, mutable: linear-memory size in pages after the last memory.grow (the peak: memory never shrinks). */
  memoryPages: "__tfaas_memory_pages",
  /** i64, mutable: Σ pages × fuel up to the last memory.grow. */
  pageFuel: "__tfaas_page_fuel",
  /** i64, mutable: the fuel counter at the last memory.grow. */
  pageFuelMark: "__tfaas_page_fuel_mark",
} as const;

export interface InstrumentOptions {
  weights?: WeightTable;
  /** Default true; false = a naive per-block update of the global, to measure what optimisation wins. */
  optimize?: boolean;
}

export interface InstrumentReport extends BodyStats {
  weightsVersion: string;
  optimized: boolean;
  /** Defined functions rewritten. */
  functions: number;
  /** Of those, functions in the internal form (fuel as an extra parameter and result). */
  internalFunctions: number;
  inputBytes: number;
  outputBytes: number;
}

/** Internal switches, one per optimisation, so each can be measured alone. */
export type InstrumentFlags = BodyFlags;

export const optimizedFlags: InstrumentFlags = { localCounter: true, mergeBlocks: true, hoistLoops: true, internalCalls: true };
export const naiveFlags: InstrumentFlags = { localCounter: false, mergeBlocks: false, hoistLoops: false, internalCalls: false };

export function instrument(bytes: Uint8Array, options: InstrumentOptions = {}): { bytes: Uint8Array<ArrayBuffer>; report: InstrumentReport } {
  return instrumentWithFlags(bytes, options.weights ?? weightsV1, options.optimize === false ? naiveFlags : optimizedFlags);
}

const I64_MAX = (1n << 63n) - 1n;

export function instrumentWithFlags(
  bytes: Uint8Array,
  weights: WeightTable,
  flags: InstrumentFlags,
): { bytes: Uint8Array<ArrayBuffer>; report: InstrumentReport } {
  checkWeightTable(weights);
  const info = readModuleInfo(bytes);
  for (const name of Object.values(MeteringExports)) {
    if (info.exportNames.has(name) || info.importNames.has(name)) {
      throw new TfaasError("invalid-artifact", `Cannot instrument WebAssembly module: it already imports or exports ${name}`);
    }
  }
  // Appended, so no existing index moves. Code that names them is rejected (body.ts); constant
  // expressions cannot read them either, since they are mutable.
  const firstNew = info.importedGlobals + info.definedGlobals;
  const globals: MeteringGlobals = {
    fuel: firstNew,
    limit: firstNew + 1,
    exhausted: firstNew + 2,
    pages: firstNew + 3,
    pageFuel: firstNew + 4,
    pageFuelMark: firstNew + 5,
  };
  const stats: BodyStats = { blocks: 0, checks: 0, flushes: 0, bulkSites: 0, memoryGrowSites: 0, hoistedLoops: 0 };
  const out = new ByteWriter(bytes.length + (bytes.length >> 1) + 256);
  out.bytes(bytes.subarray(0, 8));

  let wroteGlobals = false;
  let wroteExports = false;
  const writeMissing = (beforeRank: number) => {
    if (!wroteGlobals && beforeRank > (sectionRankOf(SectionId.global) as number)) {
      writeSection(out, SectionId.global, (payload) => writeGlobals(payload, info, 0, undefined, bytes));
      wroteGlobals = true;
    }
    if (!wroteExports && beforeRank > (sectionRankOf(SectionId.export) as number)) {
      writeSection(out, SectionId.export, (payload) => writeExports(payload, 0, undefined, bytes, globals));
      wroteExports = true;
    }
  };

  const forms = internalForms(info, flags);
  let functions = 0;
  for (const section of info.sections) {
    const rank = sectionRankOf(section.id);
    if (rank !== undefined) writeMissing(rank);
    switch (section.id) {
      case SectionId.global:
        writeSection(out, section.id, (payload) => writeGlobals(payload, info, info.definedGlobals, section, bytes));
        wroteGlobals = true;
        break;
      case SectionId.export:
        writeSection(out, section.id, (payload) => writeExports(payload, info.exportCount, section, bytes, globals));
        wroteExports = true;
        break;
      case SectionId.type:
        if (forms.addedTypes.length === 0) out.bytes(bytes.subarray(section.start, section.end));
        else writeSection(out, section.id, (payload) => writeTypes(payload, info, section, bytes, forms.addedTypes));
        break;
      case SectionId.function:
        if (forms.addedTypes.length === 0) out.bytes(bytes.subarray(section.start, section.end));
        else writeSection(out, section.id, (payload) => writeFunctionTypes(payload, info, forms));
        break;
      case SectionId.code:
        writeSection(out, section.id, (payload) => {
          const rewriter = new BodyRewriter(
            {
              flags,
              globals,
              costs: weights.costs,
              bulkBytesShift: Math.log2(weights.bulkBytesPerFuel),
              tableElementsShift: Math.log2(weights.tableElementsPerFuel),
              typeCount: info.typeParams.length,
              globalCount: firstNew,
              internalFunctions: forms.internal,
              importedFunctions: info.importedFunctions,
            },
            () => new ByteWriter(4096),
            stats,
          );
          functions = writeCode(payload, bytes, section, info, rewriter, forms);
        });
        break;
      default:
        out.bytes(bytes.subarray(section.start, section.end));
    }
  }
  writeMissing(Number.POSITIVE_INFINITY);
  if (functions !== info.functionTypes.length) {
    throw malformed(bytes.length, `${info.functionTypes.length} functions declared but ${functions} bodies found`);
  }
  const result = out.toBytes();
  return {
    bytes: result,
    report: {
      weightsVersion: weights.version,
      optimized: flags.localCounter || flags.mergeBlocks,
      functions,
      internalFunctions: forms.internal.reduce((count, flag) => count + flag, 0),
      ...stats,
      inputBytes: bytes.length,
      outputBytes: result.length,
    },
  };
}

/** Writes a section whose payload is produced by `fill`, with its size in front. */
function writeSection(out: ByteWriter, id: number, fill: (payload: ByteWriter) => void): void {
  const payload = new ByteWriter(256);
  fill(payload);
  out.byte(id);
  out.u32(payload.length);
  out.bytes(payload.view());
}

/** Bytes of a section's vector after its count. */
function entriesAfterCount(bytes: Uint8Array, section: Section): Uint8Array {
  const reader = new ByteReader(bytes, section.payloadOffset, section.end);
  reader.u32();
  return bytes.subarray(reader.pos, section.end);
}

function writeGlobals(payload: ByteWriter, info: ModuleInfo, existing: number, section: Section | undefined, bytes: Uint8Array): void {
  payload.u32(existing + 6);
  if (section !== undefined) payload.bytes(entriesAfterCount(bytes, section));
  const global = (type: number, init: bigint) => {
    payload.byte(type);
    payload.byte(1); // mutable
    payload.byte(type === 0x7e ? 0x42 : 0x41); // i64.const / i32.const
    payload.s64(init);
    payload.byte(0x0b);
  };
  global(0x7e, -I64_MAX); // fuel counter: nothing consumed, unlimited
  global(0x7e, I64_MAX); // limit
  global(0x7f, 0n); // exhausted
  global(0x7f, BigInt(info.memoryInitialPages)); // pages
  global(0x7e, 0n); // page × fuel
  global(0x7e, -I64_MAX); // mark: the counter's initial value
}

function writeExports(payload: ByteWriter, existing: number, section: Section | undefined, bytes: Uint8Array, globals: MeteringGlobals): void {
  const names = Object.values(MeteringExports);
  payload.u32(existing + names.length);
  if (section !== undefined) payload.bytes(entriesAfterCount(bytes, section));
  const indices = [globals.fuel, globals.limit, globals.exhausted, globals.pages, globals.pageFuel, globals.pageFuelMark];
  names.forEach((name, position) => {
    payload.name(name);
    payload.byte(0x03);
    payload.u32(indices[position] as number);
  });
}

/** Which defined functions take the internal form, their new types, and the types to append. */
interface InternalForms {
  /** 1 at the function index of every function in the internal form. */
  internal: Uint8Array;
  /** By original type index: the index of its internal type and the block type of its body (InternalForm). */
  byType: Map<number, { typeIndex: number; form: InternalForm }>;
  /** Types appended after the module's own, in order. */
  addedTypes: { params: number[]; results: number[] }[];
}

const I64 = 0x7e;
const EMPTY_BLOCK = 0x40;

/**
 * With internalCalls, every defined function that only direct calls can reach (ModuleInfo's
 * referencedFunctions) takes the internal form: type (params..., i64) -> (results..., i64),
 * appended to the type section, with a [] -> (results...) type for its body's block where the
 * results are several values.
 */
function internalForms(info: ModuleInfo, flags: InstrumentFlags): InternalForms {
  const total = info.importedFunctions + info.functionTypes.length;
  const forms: InternalForms = { internal: new Uint8Array(total), byType: new Map(), addedTypes: [] };
  if (!flags.internalCalls || !flags.localCounter) return forms;
  const typeCount = info.types.length;
  for (let defined = 0; defined < info.functionTypes.length; defined++) {
    const index = info.importedFunctions + defined;
    if (info.referencedFunctions.has(index)) continue;
    forms.internal[index] = 1;
    const type = info.functionTypes[defined] as number;
    if (forms.byType.has(type)) continue;
    const { params, results } = info.types[type] as FunctionType;
    const typeIndex = typeCount + forms.addedTypes.length;
    forms.addedTypes.push({ params: [...params, I64], results: [...results, I64] });
    let resultBlockType: Uint8Array;
    if (results.length === 0) resultBlockType = Uint8Array.of(EMPTY_BLOCK);
    else if (results.length === 1) resultBlockType = Uint8Array.of(results[0] as number);
    else {
      const blockType = new ByteWriter(8);
      blockType.sInt(typeCount + forms.addedTypes.length);
      forms.addedTypes.push({ params: [], results: [...results] });
      resultBlockType = blockType.toBytes();
    }
    forms.byType.set(type, { typeIndex, form: { resultBlockType } });
  }
  return forms;
}

function writeTypes(payload: ByteWriter, info: ModuleInfo, section: Section, bytes: Uint8Array, added: InternalForms["addedTypes"]): void {
  payload.u32(info.types.length + added.length);
  payload.bytes(entriesAfterCount(bytes, section));
  for (const { params, results } of added) {
    payload.byte(0x60);
    payload.u32(params.length);
    for (const type of params) payload.byte(type);
    payload.u32(results.length);
    for (const type of results) payload.byte(type);
  }
}

function writeFunctionTypes(payload: ByteWriter, info: ModuleInfo, forms: InternalForms): void {
  payload.u32(info.functionTypes.length);
  info.functionTypes.forEach((type, defined) => {
    const internal = forms.internal[info.importedFunctions + defined] === 1 ? forms.byType.get(type) : undefined;
    payload.u32(internal?.typeIndex ?? type);
  });
}

function writeCode(payload: ByteWriter, bytes: Uint8Array, section: Section, info: ModuleInfo, rewriter: BodyRewriter, forms: InternalForms): number {
  const reader = new ByteReader(bytes, section.payloadOffset, section.end);
  const count = reader.count("function body");
  if (count !== info.functionTypes.length) {
    throw malformed(section.payloadOffset, `code section has ${count} bodies but ${info.functionTypes.length} functions are declared`);
  }
  payload.u32(count);
  for (let index = 0; index < count; index++) {
    const sizeOffset = reader.pos;
    const size = reader.u32();
    if (size > reader.remaining) throw malformed(sizeOffset, `function body of ${size} bytes but only ${reader.remaining} remain`);
    const start = reader.pos;
    const type = info.functionTypes[index] as number;
    const params = info.typeParams[type] as number;
    const internal = forms.internal[info.importedFunctions + index] === 1 ? forms.byType.get(type)?.form : undefined;
    rewriter.rewrite(bytes, start, start + size, params, payload, internal);
    reader.pos = start + size;
  }
  if (reader.pos !== reader.end) throw malformed(reader.pos, "code section has bytes after its last body");
  return count;
}
