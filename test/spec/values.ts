/**
 * Values of the spec scripts (wast2json form) as exact bit patterns: written to and read from
 * linear memory, so NaN payloads and v128 lanes survive without passing through JS numbers.
 * Every value is normalised to a string (unsigned decimal bits, hex bytes for v128) so two
 * runs can be compared exactly.
 */

export type NumericType = "i32" | "i64" | "f32" | "f64" | "v128";
export type RefType = "externref" | "funcref";
export type ValueType = NumericType | RefType;

/** A value or a bare type, as the scripts write them. */
export interface SpecValue {
  type: string;
  value?: string | string[];
  lane_type?: string;
}

const VALUE_TYPES: readonly string[] = ["i32", "i64", "f32", "f64", "v128", "externref", "funcref"];

export function valueType(value: SpecValue): ValueType {
  if (!VALUE_TYPES.includes(value.type)) throw new Error(`unknown value type ${value.type}`);
  return value.type as ValueType;
}

export function isRefType(type: ValueType): type is RefType {
  return type === "externref" || type === "funcref";
}

const LANE_BITS: Record<string, number> = { i8: 8, i16: 16, i32: 32, i64: 64, f32: 32, f64: 64 };

/** Host references for `ref.extern N`: one object per N, so identity survives a round trip. */
const hostRefs = new Map<number, { hostRef: number }>();
function hostRef(n: number): { hostRef: number } {
  let ref = hostRefs.get(n);
  if (ref === undefined) {
    ref = { hostRef: n };
    hostRefs.set(n, ref);
  }
  return ref;
}

function scalar(value: SpecValue): string {
  if (typeof value.value !== "string") throw new Error(`value of type ${value.type} has no scalar`);
  return value.value;
}

/** The JS value passed for a reference argument. */
export function refArgument(value: SpecValue): unknown {
  const text = scalar(value);
  if (text === "null") return null;
  if (value.type === "externref") return hostRef(Number(text));
  throw new Error(`cannot pass a non-null ${value.type} argument`);
}

/** Normalised form of a reference result. */
export function refResult(result: unknown): string {
  if (result === null) return "null";
  if (typeof result === "object" && "hostRef" in result) return `extern:${String((result as { hostRef: number }).hostRef)}`;
  if (typeof result === "function") return "func";
  return `host:${typeof result}`;
}

function laneBits(text: string, bits: number): bigint {
  return BigInt.asUintN(bits, BigInt(text));
}

/** Writes a numeric argument's bits at `offset`. */
export function writeArgument(view: DataView, offset: number, value: SpecValue): void {
  switch (value.type) {
    case "i32":
    case "f32":
      view.setUint32(offset, Number(laneBits(scalar(value), 32)), true);
      return;
    case "i64":
    case "f64":
      view.setBigUint64(offset, laneBits(scalar(value), 64), true);
      return;
    case "v128": {
      const lanes = value.value;
      const bits = LANE_BITS[value.lane_type ?? ""];
      if (!Array.isArray(lanes) || bits === undefined) throw new Error("malformed v128 argument");
      const bytes = bits / 8;
      lanes.forEach((lane, index) => {
        let rest = laneBits(lane, bits);
        for (let byte = 0; byte < bytes; byte++) {
          view.setUint8(offset + index * bytes + byte, Number(rest & 0xffn));
          rest >>= 8n;
        }
      });
      return;
    }
    default:
      throw new Error(`cannot write a ${value.type} argument to memory`);
  }
}

/** Reads a numeric result's bits at `offset`, normalised. */
export function readResult(view: DataView, offset: number, type: NumericType): string {
  switch (type) {
    case "i32":
    case "f32":
      return String(view.getUint32(offset, true));
    case "i64":
    case "f64":
      return String(view.getBigUint64(offset, true));
    case "v128": {
      let hex = "";
      for (let byte = 0; byte < 16; byte++) hex += view.getUint8(offset + byte).toString(16).padStart(2, "0");
      return hex;
    }
  }
}

/** Normalised form of an exported global's value (reached through JS, so NaN payloads may be quieted). */
export function globalResult(value: unknown, type: ValueType): string {
  const view = new DataView(new ArrayBuffer(8));
  switch (type) {
    case "i32":
      return String(Number(value) >>> 0);
    case "i64":
      return String(BigInt.asUintN(64, BigInt(value as bigint)));
    case "f32":
      view.setFloat32(0, Number(value), true);
      return String(view.getUint32(0, true));
    case "f64":
      view.setFloat64(0, Number(value), true);
      return String(view.getBigUint64(0, true));
    case "externref":
    case "funcref":
      return refResult(value);
    case "v128":
      throw new Error("v128 globals cannot be read from JS");
  }
}

function isNanBits(bits: bigint, width: 32 | 64): boolean {
  const [exponent, fraction] = width === 32 ? [0x7f800000n, 0x007fffffn] : [0x7ff0000000000000n, 0x000fffffffffffffn];
  return (bits & exponent) === exponent && (bits & fraction) !== 0n;
}

/** Does a float's bit pattern satisfy an expected lane or scalar ("nan:canonical", "nan:arithmetic" or exact bits)? */
function floatMatches(bits: bigint, width: 32 | 64, expected: string): boolean {
  const quiet = width === 32 ? 0x00400000n : 0x0008000000000000n;
  const magnitude = bits & (width === 32 ? 0x7fffffffn : 0x7fffffffffffffffn);
  const canonical = (width === 32 ? 0x7f800000n : 0x7ff0000000000000n) | quiet;
  if (expected === "nan:canonical") return magnitude === canonical;
  if (expected === "nan:arithmetic") return isNanBits(bits, width) && (bits & quiet) !== 0n;
  return bits === BigInt.asUintN(width, BigInt(expected));
}

function v128Lanes(hex: string, bits: number): bigint[] {
  const bytes = bits / 8;
  const lanes: bigint[] = [];
  for (let lane = 0; lane < 16 / bytes; lane++) {
    let value = 0n;
    for (let byte = bytes - 1; byte >= 0; byte--) {
      value = (value << 8n) | BigInt(parseInt(hex.slice((lane * bytes + byte) * 2, (lane * bytes + byte) * 2 + 2), 16));
    }
    lanes.push(value);
  }
  return lanes;
}

/** Does a normalised result satisfy the script's expected value? */
export function resultMatches(actual: string, expected: SpecValue): boolean {
  switch (expected.type) {
    case "i32":
      return BigInt(actual) === laneBits(scalar(expected), 32);
    case "i64":
      return BigInt(actual) === laneBits(scalar(expected), 64);
    case "f32":
      return floatMatches(BigInt(actual), 32, scalar(expected));
    case "f64":
      return floatMatches(BigInt(actual), 64, scalar(expected));
    case "externref":
      return scalar(expected) === "null" ? actual === "null" : actual === `extern:${scalar(expected)}`;
    case "funcref":
      return scalar(expected) === "null" ? actual === "null" : actual === "func";
    case "v128": {
      const laneType = expected.lane_type ?? "";
      const bits = LANE_BITS[laneType];
      const lanes = expected.value;
      if (bits === undefined || !Array.isArray(lanes)) return false;
      return v128Lanes(actual, bits).every((lane, index) => {
        const want = lanes[index] ?? "";
        if (laneType === "f32") return floatMatches(lane, 32, want);
        if (laneType === "f64") return floatMatches(lane, 64, want);
        return lane === laneBits(want, bits);
      });
    }
    default:
      return false;
  }
}

/**
 * Do two runs agree on a result? Exact bits, except that any two NaNs agree: the spec leaves
 * NaN payloads nondeterministic, and V8's tiers may legitimately differ there.
 */
export function sameResult(a: string, b: string, type: ValueType): boolean {
  if (a === b) return true;
  if (type === "f32" || type === "f64") {
    const width = type === "f32" ? 32 : 64;
    return isNanBits(BigInt(a), width) && isNanBits(BigInt(b), width);
  }
  if (type === "v128") {
    // Lane shape is unknown here; compare as 32-bit lanes first, then as 64-bit lanes.
    const sameLanes = (bits: 32 | 64) => {
      const left = v128Lanes(a, bits);
      const right = v128Lanes(b, bits);
      return left.every((lane, index) => lane === right[index] || (isNanBits(lane, bits) && isNanBits(right[index] ?? 0n, bits)));
    };
    return sameLanes(32) || sameLanes(64);
  }
  return false;
}
