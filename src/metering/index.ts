/** Metering: the WebAssembly instrumenter (pure bytes in, bytes out) and the host side of its counters. */
export { instrument, MeteringExports } from "./instrument.js";
export type { InstrumentOptions, InstrumentReport } from "./instrument.js";
export { exportedFunctionSignatures } from "./module.js";
export type { FunctionSignature } from "./module.js";
export { isFuelExhausted, readFuel, readMeteringUsage, setFuelLimit } from "./usage.js";
export type { MeteringUsage } from "./usage.js";
export { WEIGHTS_VERSION, weightsByVersion, weightsV1 } from "./weights.js";
export type { OpClass, WeightTable } from "./weights.js";
