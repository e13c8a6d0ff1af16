// @ts-nocheck: AssemblyScript (compiled by asc, not tsc).
/** Recursion: the Takeuchi function, tak(n, 2n/3, n/3). */
function tak(x: i32, y: i32, z: i32): i32 {
  if (y >= x) return z;
  return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

export function run(n: i32): u32 {
  return <u32>tak(n, (2 * n) / 3, n / 3);
}
