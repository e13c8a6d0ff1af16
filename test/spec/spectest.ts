/**
 * The `spectest` host module the scripts import from, built as a real WebAssembly module so its
 * exports carry exact types: importing `print_i32` with the wrong signature must fail to link,
 * which a JS function would not. The print functions do nothing (the scripts never check output).
 */
import wabtInit from "wabt";

const SPECTEST_WAT = `(module
  (func (export "print"))
  (func (export "print_i32") (param i32))
  (func (export "print_i64") (param i64))
  (func (export "print_f32") (param f32))
  (func (export "print_f64") (param f64))
  (func (export "print_i32_f32") (param i32 f32))
  (func (export "print_f64_f64") (param f64 f64))
  (global (export "global_i32") i32 (i32.const 666))
  (global (export "global_i64") i64 (i64.const 666))
  (global (export "global_f32") f32 (f32.const 666.6))
  (global (export "global_f64") f64 (f64.const 666.6))
  (table (export "table") 10 20 funcref)
  (memory (export "memory") 1 2))`;

let spectestModule: WebAssembly.Module | undefined;

/** Compiles the host module once; call before `spectestExports`. */
export async function loadSpectest(): Promise<void> {
  if (spectestModule !== undefined) return;
  const wabt = await wabtInit();
  const parsed = wabt.parseWat("spectest.wat", SPECTEST_WAT);
  try {
    const { buffer } = parsed.toBinary({});
    spectestModule = new WebAssembly.Module(Uint8Array.from(buffer));
  } finally {
    parsed.destroy();
  }
}

/** A fresh instance: each run of a script gets its own table, memory and globals. */
export function spectestExports(): WebAssembly.Exports {
  if (spectestModule === undefined) throw new Error("Cannot instantiate spectest: loadSpectest() has not completed");
  return new WebAssembly.Instance(spectestModule, {}).exports;
}
