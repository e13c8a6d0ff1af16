// @ts-nocheck: AssemblyScript (compiled by asc, not tsc).
/** Sorting: heapsort of n pseudo-random integers. */
const MAX: i32 = 1 << 18;
const values = new StaticArray<i32>(MAX);

function siftDown(start: i32, end: i32): void {
  let root = start;
  while (2 * root + 1 < end) {
    let child = 2 * root + 1;
    if (child + 1 < end && unchecked(values[child]) < unchecked(values[child + 1])) child++;
    if (unchecked(values[root]) >= unchecked(values[child])) return;
    const swap = unchecked(values[root]);
    unchecked((values[root] = values[child]));
    unchecked((values[child] = swap));
    root = child;
  }
}

export function run(n: i32): u32 {
  if (n > MAX) n = MAX;
  let state: u32 = 88172645;
  for (let i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    unchecked((values[i] = <i32>(state % 1000000) - 500000));
  }
  for (let start = n / 2 - 1; start >= 0; start--) siftDown(start, n);
  for (let end = n - 1; end > 0; end--) {
    const top = unchecked(values[0]);
    unchecked((values[0] = values[end]));
    unchecked((values[end] = top));
    siftDown(0, end);
  }
  let sum: u32 = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && unchecked(values[i - 1]) > unchecked(values[i])) return 0; // not sorted
    sum = sum * 31 + <u32>unchecked(values[i]);
  }
  return sum;
}
