/**
 * The module-level facts the instrumenter needs (types, imports, function and global counts,
 * memory, exports), read from the sections before the code. Anything outside WebAssembly 2.0
 * that shows at this level (tags, shared or 64-bit memories, several memories, GC types,
 * unknown sections) is rejected here with its offset.
 */
import { ByteReader, malformed } from "./bytes.js";
import type { Section } from "./sections.js";
import { readSections, SectionId } from "./sections.js";

export interface ModuleInfo {
  sections: Section[];
  /** Parameter count of each type index. */
  typeParams: number[];
  /** Parameter and result value types of each type index. */
  types: FunctionType[];
  /** Type index of each imported function. */
  importedFunctionTypes: number[];
  importedFunctions: number;
  importedGlobals: number;
  /** Type index of each defined function. */
  functionTypes: Uint32Array;
  definedGlobals: number;
  /** Memories defined or imported (0 or 1 in WebAssembly 2.0). */
  memories: number;
  /** Declared minimum of the memory, in 64 KiB pages (0 without memory). */
  memoryInitialPages: number;
  /** Field names of all imports and names of all exports. */
  importNames: Set<string>;
  exportNames: Set<string>;
  exportCount: number;
  /** Exported functions by name, with their function index. */
  functionExports: Map<string, number>;
  /**
   * Functions the module can reach other than by a direct `call`: exported, in an element
   * segment (active, passive or declarative), named by `ref.func` in a global's initialiser, or
   * the start function. A valid body can `ref.func` only these, so every other defined function
   * is called only by `call` from inside the module.
   */
  referencedFunctions: Set<number>;
}

export interface FunctionType {
  params: Uint8Array;
  results: Uint8Array;
}

/** Where each known section may appear; a section must come after every lower rank. */
const sectionRank = new Map<number, number>([
  [SectionId.type, 1],
  [SectionId.import, 2],
  [SectionId.function, 3],
  [SectionId.table, 4],
  [SectionId.memory, 5],
  [SectionId.global, 7],
  [SectionId.export, 8],
  [SectionId.start, 9],
  [SectionId.element, 10],
  [SectionId.dataCount, 11],
  [SectionId.code, 12],
  [SectionId.data, 13],
]);

export function sectionRankOf(id: number): number | undefined {
  return sectionRank.get(id);
}

/** Value types of WebAssembly 2.0: i32 i64 f32 f64 v128 funcref externref. */
export function isValueType(byte: number): boolean {
  return (byte >= 0x7b && byte <= 0x7f) || byte === 0x70 || byte === 0x6f;
}

export function readValueType(reader: ByteReader): number {
  const offset = reader.pos;
  const byte = reader.byte();
  if (!isValueType(byte)) throw malformed(offset, `value type 0x${byte.toString(16)} (not WebAssembly 2.0: GC or typed references)`);
  return byte;
}

function readName(reader: ByteReader): string {
  const length = reader.count("name length");
  const start = reader.pos;
  reader.skip(length);
  return new TextDecoder("utf-8", { fatal: false }).decode(reader.bytes.subarray(start, start + length));
}

/** Limits of a table or memory: returns the minimum. */
function readLimits(reader: ByteReader, what: "table" | "memory"): number {
  const offset = reader.pos;
  const flags = reader.byte();
  if (flags === 0x02 || flags === 0x03) throw malformed(offset, `shared ${what} (threads, not WebAssembly 2.0)`);
  if (flags >= 0x04 && flags <= 0x07) throw malformed(offset, `64-bit ${what} (memory64, not WebAssembly 2.0)`);
  if (flags > 0x01) throw malformed(offset, `${what} limits flags 0x${flags.toString(16)}`);
  const minimum = reader.u32();
  if (flags === 0x01) reader.u32();
  return minimum;
}

function readTableType(reader: ByteReader): void {
  const offset = reader.pos;
  const type = reader.byte();
  if (type !== 0x70 && type !== 0x6f) throw malformed(offset, `table element type 0x${type.toString(16)} (not WebAssembly 2.0)`);
  readLimits(reader, "table");
}

function expectEnd(reader: ByteReader, section: Section): void {
  if (reader.pos !== reader.end) throw malformed(reader.pos, `section ${section.id} has ${reader.end - reader.pos} bytes after its contents`);
}

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = {
    sections: readSections(bytes),
    typeParams: [],
    types: [],
    importedFunctionTypes: [],
    importedFunctions: 0,
    importedGlobals: 0,
    functionTypes: new Uint32Array(0),
    definedGlobals: 0,
    memories: 0,
    memoryInitialPages: 0,
    importNames: new Set(),
    exportNames: new Set(),
    exportCount: 0,
    functionExports: new Map(),
    referencedFunctions: new Set(),
  };
  let lastRank = 0;
  for (const section of info.sections) {
    if (section.id === SectionId.custom) continue;
    if (section.id === SectionId.tag) throw malformed(section.start, "tag section (exception handling, not WebAssembly 2.0)");
    const rank = sectionRank.get(section.id);
    if (rank === undefined) throw malformed(section.start, `unknown section id ${section.id}`);
    if (rank <= lastRank) throw malformed(section.start, `section ${section.id} is duplicated or out of order`);
    lastRank = rank;
    const reader = new ByteReader(bytes, section.payloadOffset, section.end);
    switch (section.id) {
      case SectionId.type:
        readTypes(reader, info);
        break;
      case SectionId.import:
        readImports(reader, info);
        break;
      case SectionId.function: {
        const count = reader.count("function");
        info.functionTypes = new Uint32Array(count);
        for (let index = 0; index < count; index++) {
          const offset = reader.pos;
          const type = reader.u32();
          if (type >= info.typeParams.length) throw malformed(offset, `function type index ${type} (only ${info.typeParams.length} types)`);
          info.functionTypes[index] = type;
        }
        break;
      }
      case SectionId.table: {
        const count = reader.count("table");
        for (let index = 0; index < count; index++) {
          if (reader.bytes[reader.pos] === 0x40) throw malformed(reader.pos, "table with initialiser (typed function references, not WebAssembly 2.0)");
          readTableType(reader);
        }
        break;
      }
      case SectionId.memory: {
        const count = reader.count("memory");
        for (let index = 0; index < count; index++) {
          const offset = reader.pos;
          const minimum = readLimits(reader, "memory");
          if (info.memories > 0) throw malformed(offset, "a second memory (multi-memory, not WebAssembly 2.0)");
          info.memories = 1;
          info.memoryInitialPages = minimum;
        }
        break;
      }
      case SectionId.global:
        // The entries are copied as they are; read for the functions their initialisers name.
        info.definedGlobals = reader.count("global");
        for (let index = 0; index < info.definedGlobals; index++) {
          readValueType(reader);
          reader.byte();
          readConstantExpression(reader, info);
        }
        break;
      case SectionId.export:
        readExports(reader, info);
        break;
      case SectionId.start:
        info.referencedFunctions.add(reader.u32());
        break;
      case SectionId.element:
        readElements(reader, info);
        break;
      default:
        // data count, code, data: copied (code is rewritten separately).
        continue;
    }
    expectEnd(reader, section);
  }
  return info;
}

function readTypes(reader: ByteReader, info: ModuleInfo): void {
  const count = reader.count("type");
  for (let index = 0; index < count; index++) {
    const offset = reader.pos;
    const form = reader.byte();
    if (form !== 0x60) throw malformed(offset, `type form 0x${form.toString(16)} (GC types, not WebAssembly 2.0)`);
    const params = new Uint8Array(reader.count("parameter"));
    for (let param = 0; param < params.length; param++) params[param] = readValueType(reader);
    const results = new Uint8Array(reader.count("result"));
    for (let result = 0; result < results.length; result++) results[result] = readValueType(reader);
    info.typeParams.push(params.length);
    info.types.push({ params, results });
  }
}

function readImports(reader: ByteReader, info: ModuleInfo): void {
  const count = reader.count("import");
  for (let index = 0; index < count; index++) {
    readName(reader);
    info.importNames.add(readName(reader));
    const offset = reader.pos;
    const kind = reader.byte();
    switch (kind) {
      case 0x00: {
        const typeOffset = reader.pos;
        const type = reader.u32();
        if (type >= info.typeParams.length) throw malformed(typeOffset, `imported function type index ${type} (only ${info.typeParams.length} types)`);
        info.importedFunctions++;
        info.importedFunctionTypes.push(type);
        break;
      }
      case 0x01:
        readTableType(reader);
        break;
      case 0x02: {
        const minimum = readLimits(reader, "memory");
        if (info.memories > 0) throw malformed(offset, "a second memory (multi-memory, not WebAssembly 2.0)");
        info.memories = 1;
        info.memoryInitialPages = minimum;
        break;
      }
      case 0x03: {
        readValueType(reader);
        const mutabilityOffset = reader.pos;
        const mutability = reader.byte();
        if (mutability > 1) throw malformed(mutabilityOffset, `global mutability 0x${mutability.toString(16)}`);
        info.importedGlobals++;
        break;
      }
      case 0x04:
        throw malformed(offset, "tag import (exception handling, not WebAssembly 2.0)");
      default:
        throw malformed(offset, `import kind 0x${kind.toString(16)}`);
    }
  }
}

function readExports(reader: ByteReader, info: ModuleInfo): void {
  const count = reader.count("export");
  info.exportCount = count;
  for (let index = 0; index < count; index++) {
    const name = readName(reader);
    info.exportNames.add(name);
    const offset = reader.pos;
    const kind = reader.byte();
    if (kind === 0x04) throw malformed(offset, "tag export (exception handling, not WebAssembly 2.0)");
    if (kind > 0x04) throw malformed(offset, `export kind 0x${kind.toString(16)}`);
    const targetOffset = reader.pos;
    const target = reader.u32();
    if (kind === 0x00) {
      info.functionExports.set(name, target);
      info.referencedFunctions.add(target);
    }
    // An out-of-range global export is invalid, and would otherwise export one of the metering globals.
    const globals = info.importedGlobals + info.definedGlobals;
    if (kind === 0x03 && target >= globals) throw malformed(targetOffset, `exported global index ${target} (only ${globals})`);
  }
}

/** Skips a constant expression (WebAssembly 2.0: constants, `ref.null`, `ref.func`, `global.get`), noting the functions it names. */
function readConstantExpression(reader: ByteReader, info: ModuleInfo): void {
  for (;;) {
    const offset = reader.pos;
    const op = reader.byte();
    switch (op) {
      case 0x0b: // end
        return;
      case 0x41: // i32.const
        reader.skipSigned(32);
        break;
      case 0x42: // i64.const
        reader.skipSigned(64);
        break;
      case 0x43: // f32.const
        reader.skip(4);
        break;
      case 0x44: // f64.const
        reader.skip(8);
        break;
      case 0x23: // global.get
        reader.u32();
        break;
      case 0xd0: // ref.null type
        reader.byte();
        break;
      case 0xd2: // ref.func
        info.referencedFunctions.add(reader.u32());
        break;
      case 0xfd: // v128.const
        if (reader.u32() !== 12) throw malformed(offset, "constant expression with a SIMD instruction other than v128.const");
        reader.skip(16);
        break;
      default:
        throw malformed(offset, `constant expression with opcode 0x${op.toString(16)} (not WebAssembly 2.0)`);
    }
  }
}

/** Element segments, in all eight encodings: only for the functions they name. */
function readElements(reader: ByteReader, info: ModuleInfo): void {
  const count = reader.count("element segment");
  for (let index = 0; index < count; index++) {
    const offset = reader.pos;
    const flags = reader.u32();
    if (flags > 7) throw malformed(offset, `element segment flags ${flags}`);
    const active = (flags & 1) === 0;
    const explicitTable = (flags & 2) !== 0;
    const expressions = (flags & 4) !== 0;
    if (active && explicitTable) reader.u32();
    if (active) readConstantExpression(reader, info);
    // Element kind (0x00, funcref) or reference type, except in the two shortest active forms.
    if (!active || explicitTable) reader.byte();
    const entries = reader.count("element");
    for (let entry = 0; entry < entries; entry++) {
      if (expressions) readConstantExpression(reader, info);
      else info.referencedFunctions.add(reader.u32());
    }
  }
}

const valueTypeNames = new Map([
  [0x7f, "i32"],
  [0x7e, "i64"],
  [0x7d, "f32"],
  [0x7c, "f64"],
  [0x7b, "v128"],
  [0x70, "funcref"],
  [0x6f, "externref"],
]);

export interface FunctionSignature {
  params: string[];
  results: string[];
}

/** Parameter and result types (as in the text format: i32, i64, f32, ...) of every exported function. */
export function exportedFunctionSignatures(bytes: Uint8Array): Map<string, FunctionSignature> {
  const info = readModuleInfo(bytes);
  const names = (types: Uint8Array) => [...types].map((type) => valueTypeNames.get(type) ?? "unknown");
  const signatures = new Map<string, FunctionSignature>();
  for (const [name, index] of info.functionExports) {
    const typeIndex = index < info.importedFunctions ? info.importedFunctionTypes[index] : info.functionTypes[index - info.importedFunctions];
    const type = typeIndex === undefined ? undefined : info.types[typeIndex];
    if (type !== undefined) signatures.set(name, { params: names(type.params), results: names(type.results) });
  }
  return signatures;
}
