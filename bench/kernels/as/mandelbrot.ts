// @ts-nocheck: AssemblyScript (compiled by asc, not tsc).
/** Floating point: escape-time Mandelbrot on an n × n grid, at most 200 iterations per point. */
export function run(n: i32): u32 {
  let checksum: u32 = 0;
  const scale = 3.0 / <f64>n;
  for (let py = 0; py < n; py++) {
    const ci = <f64>py * scale - 1.5;
    for (let px = 0; px < n; px++) {
      const cr = <f64>px * scale - 2.25;
      let zr = 0.0;
      let zi = 0.0;
      let iteration = 0;
      while (iteration < 200 && zr * zr + zi * zi <= 4.0) {
        const next = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = next;
        iteration++;
      }
      checksum = checksum * 31 + <u32>iteration;
    }
  }
  return checksum;
}
