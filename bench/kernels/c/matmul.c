/* Dense double-precision matrix multiply, C = A × B, of n × n matrices (n ≤ 256). */
#define MAX 256
static double a[MAX * MAX], b[MAX * MAX], c[MAX * MAX];

unsigned run(int n) {
  if (n > MAX) n = MAX;
  for (int i = 0; i < n * n; i++) {
    a[i] = (double)(i % 17) * 0.5 - 3.0;
    b[i] = (double)(i % 13) * 0.25 + 1.0;
  }
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) c[i * n + j] = 0.0;
    for (int k = 0; k < n; k++) {
      double aik = a[i * n + k];
      for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  double sum = 0.0;
  for (int i = 0; i < n * n; i++) sum += c[i] * (double)((i & 7) + 1);
  return (unsigned)(long long)sum;
}
