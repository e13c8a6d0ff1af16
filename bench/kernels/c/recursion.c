/* Call-heavy recursion: naive Fibonacci and the Ackermann function. */
static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned ackermann(unsigned m, unsigned n) {
  if (m == 0) return n + 1;
  if (n == 0) return ackermann(m - 1, 1);
  return ackermann(m - 1, ackermann(m, n - 1));
}

unsigned run(int n) { return fib((unsigned)n) ^ ackermann(2, (unsigned)n * 20u); }
