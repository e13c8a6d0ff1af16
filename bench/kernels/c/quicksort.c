/* Recursive quicksort (median of three, insertion sort for short runs) of n pseudo-random integers. */
#include <stdint.h>
#define MAX (1 << 18)
static int32_t values[MAX];

static void insertion(int32_t *v, int lo, int hi) {
  for (int i = lo + 1; i <= hi; i++) {
    int32_t x = v[i];
    int j = i - 1;
    while (j >= lo && v[j] > x) { v[j + 1] = v[j]; j--; }
    v[j + 1] = x;
  }
}

static void quicksort(int32_t *v, int lo, int hi) {
  while (hi - lo > 16) {
    int mid = lo + (hi - lo) / 2;
    int32_t a = v[lo], b = v[mid], c = v[hi];
    int32_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    int i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) { int32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
    }
    if (j - lo < hi - i) { quicksort(v, lo, j); lo = i; }
    else { quicksort(v, i, hi); hi = j; }
  }
  insertion(v, lo, hi);
}

unsigned run(int n) {
  if (n > MAX) n = MAX;
  uint32_t state = 88172645u;
  for (int i = 0; i < n; i++) {
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    values[i] = (int32_t)(state % 1000000u) - 500000;
  }
  quicksort(values, 0, n - 1);
  uint32_t sum = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0 && values[i - 1] > values[i]) return 0; /* not sorted: a checksum no correct run gives */
    sum = sum * 31u + (uint32_t)values[i];
  }
  return sum;
}
