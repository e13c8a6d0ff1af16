// @ts-nocheck: AssemblyScript (compiled by asc, not tsc).
/** Hashing: FNV-1a over a 64 KiB pseudo-random buffer, n passes. */
const SIZE: i32 = 1 << 16;
const buffer = new Uint8Array(SIZE);

export function run(n: i32): u32 {
  let state: u32 = 2463534242;
  for (let i = 0; i < SIZE; i++) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    unchecked((buffer[i] = <u8>state));
  }
  let hash: u32 = 2166136261;
  for (let pass = 0; pass < n; pass++) {
    for (let i = 0; i < SIZE; i++) hash = (hash ^ unchecked(buffer[i])) * 16777619;
  }
  return hash;
}
