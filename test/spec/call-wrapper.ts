/**
 * Calls an exported WebAssembly function with exact arguments and reads exact results. JS can
 * neither pass v128 values nor keep NaN payloads intact, so each call goes through a small
 * generated wrapper module that imports the target function (a wasm-to-wasm call, checked
 * against the signature at link time), loads numeric arguments from its memory, calls, and
 * stores numeric results back. References travel as ordinary JS parameters and results.
 */
import { isRefType, readResult, refArgument, refResult, writeArgument, type NumericType, type SpecValue, type ValueType } from "./values.js";

const VALTYPE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f };
const LOAD: Record<NumericType, number[]> = { i32: [0x28], i64: [0x29], f32: [0x2a], f64: [0x2b], v128: [0xfd, 0x00] };
const STORE: Record<NumericType, number[]> = { i32: [0x36], i64: [0x37], f32: [0x38], f64: [0x39], v128: [0xfd, 0x0b] };
/** Each argument and result gets its own 16-byte slot. */
const SLOT = 16;

function u32(value: number): number[] {
  const out: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    out.push(value === 0 ? low : low | 0x80);
  } while (value !== 0);
  return out;
}

function s32(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const low = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (low & 0x40) === 0) || (value === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return out;
  }
}

function vector(items: number[][]): number[] {
  return [...u32(items.length), ...items.flat()];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...u32(payload.length), ...payload];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...u32(bytes.length), ...bytes];
}

function funcType(params: ValueType[], results: ValueType[]): number[] {
  return [0x60, ...vector(params.map((t) => [VALTYPE[t]])), ...vector(results.map((t) => [VALTYPE[t]]))];
}

function wrapperBinary(params: ValueType[], results: ValueType[]): Uint8Array<ArrayBuffer> {
  const refParams = params.filter(isRefType);
  const refResults = results.filter(isRefType);
  const firstResultLocal = refParams.length;
  const body: number[] = [];
  let refIndex = 0;
  params.forEach((type, index) => {
    if (isRefType(type)) body.push(0x20, ...u32(refIndex++));
    else body.push(0x41, ...s32(index * SLOT), ...LOAD[type], 0, 0);
  });
  body.push(0x10, 0); // call the imported target
  for (let index = results.length - 1; index >= 0; index--) body.push(0x21, ...u32(firstResultLocal + index));
  results.forEach((type, index) => {
    if (!isRefType(type)) body.push(0x41, ...s32(index * SLOT), 0x20, ...u32(firstResultLocal + index), ...STORE[type], 0, 0);
  });
  results.forEach((type, index) => {
    if (isRefType(type)) body.push(0x20, ...u32(firstResultLocal + index));
  });
  body.push(0x0b);
  const locals = vector(results.map((type) => [1, VALTYPE[type]]));
  const code = [...locals, ...body];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([funcType(params, results), funcType(refParams, refResults)])),
    ...section(2, vector([[...name("t"), ...name("f"), 0x00, 0]])),
    ...section(3, vector([[1]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name("call"), 0x00, 1], [...name("mem"), 0x02, 0]])),
    ...section(10, vector([[...u32(code.length), ...code]])),
  ];
  return Uint8Array.from(bytes);
}

const modules = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<object, Map<string, WebAssembly.Instance>>();

function wrapperFor(target: object, params: ValueType[], results: ValueType[]): WebAssembly.Instance {
  const key = `${params.join(",")}->${results.join(",")}`;
  let perTarget = instances.get(target);
  if (perTarget === undefined) {
    perTarget = new Map();
    instances.set(target, perTarget);
  }
  let instance = perTarget.get(key);
  if (instance === undefined) {
    let module = modules.get(key);
    if (module === undefined) {
      module = new WebAssembly.Module(wrapperBinary(params, results));
      modules.set(key, module);
    }
    // A signature mismatch between the script and the export surfaces here as a LinkError.
    instance = new WebAssembly.Instance(module, { t: { f: target as WebAssembly.ExportValue } });
    perTarget.set(key, instance);
  }
  return instance;
}

/**
 * Calls `target` (an exported wasm function) with `args`; the result types come from the
 * script. Returns normalised results. Traps and stack exhaustion propagate as thrown errors.
 */
export function callExact(target: object, args: SpecValue[], resultTypes: ValueType[]): string[] {
  const params = args.map((arg) => arg.type as ValueType);
  const wrapper = wrapperFor(target, params, resultTypes);
  const exports = wrapper.exports as { call: (...refs: unknown[]) => unknown; mem: WebAssembly.Memory };
  const view = new DataView(exports.mem.buffer);
  const refArgs: unknown[] = [];
  args.forEach((arg, index) => {
    if (isRefType(arg.type as ValueType)) refArgs.push(refArgument(arg));
    else writeArgument(view, index * SLOT, arg);
  });
  const returned = exports.call(...refArgs);
  const refValues = resultTypes.filter(isRefType).length;
  const refs: unknown[] = refValues === 0 ? [] : refValues === 1 ? [returned] : [...(returned as Iterable<unknown>)];
  let refIndex = 0;
  return resultTypes.map((type, index) => (isRefType(type) ? refResult(refs[refIndex++]) : readResult(view, index * SLOT, type)));
}
