/*
 * Branchy parsing: generate n JSON-like records of text, then tokenize them (strings with escapes,
 * integers and decimals parsed by hand, literals, punctuation) and fold the tokens into a checksum.
 */
#include <stdint.h>
#define MAX_TEXT (1 << 22)
static char text[MAX_TEXT];
static uint32_t state = 1;

static uint32_t next(void) { state ^= state << 13; state ^= state >> 17; state ^= state << 5; return state; }

static int put(int at, const char *s) { while (*s && at < MAX_TEXT - 64) text[at++] = *s++; return at; }

static int putNumber(int at, uint32_t value, int decimals) {
  char digits[16];
  int count = 0;
  do { digits[count++] = (char)('0' + value % 10); value /= 10; } while (value && count < 16);
  if (next() & 1) text[at++] = '-';
  while (count) { text[at++] = digits[--count]; if (count == decimals && decimals) text[at++] = '.'; }
  return at;
}

static int generate(int records) {
  static const char *keys[] = {"\"id\":", "\"name\":", "\"price\":", "\"tags\":", "\"ok\":", "\"note\":"};
  int at = 0;
  at = put(at, "[");
  for (int r = 0; r < records && at < MAX_TEXT - 256; r++) {
    at = put(at, r ? ",{" : "{");
    for (int k = 0; k < 6; k++) {
      at = put(at, k ? "," : "");
      at = put(at, keys[k]);
      switch (k) {
        case 0: at = putNumber(at, next() % 100000, 0); break;
        case 2: at = putNumber(at, next() % 1000000, 2); break;
        case 4: at = put(at, next() & 1 ? "true" : "null"); break;
        case 3: at = put(at, "["); for (int t = 0; t < (int)(next() % 4); t++) { at = put(at, t ? "," : ""); at = putNumber(at, next() % 50, 0); } at = put(at, "]"); break;
        default: at = put(at, "\"ab\\\"c d\\\\e f"); at = putNumber(at, next() % 1000, 0); at = put(at, "\""); break;
      }
    }
    at = put(at, "}");
  }
  at = put(at, "]");
  return at;
}

unsigned run(int n) {
  state = 2463534242u;
  int length = generate(n);
  uint32_t hash = 2166136261u;
  int depth = 0, maxDepth = 0, strings = 0, literals = 0;
  double total = 0.0;
  for (int i = 0; i < length;) {
    char ch = text[i];
    if (ch == '{' || ch == '[') { if (++depth > maxDepth) maxDepth = depth; i++; }
    else if (ch == '}' || ch == ']') { depth--; i++; }
    else if (ch == ',' || ch == ':' || ch == ' ') i++;
    else if (ch == '"') {
      i++;
      while (i < length && text[i] != '"') {
        if (text[i] == '\\') i++;
        hash = (hash ^ (uint8_t)text[i]) * 16777619u;
        i++;
      }
      i++;
      strings++;
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      int negative = ch == '-';
      if (negative) i++;
      int64_t whole = 0;
      while (i < length && text[i] >= '0' && text[i] <= '9') whole = whole * 10 + (text[i++] - '0');
      double value = (double)whole;
      if (i < length && text[i] == '.') {
        double scale = 0.1;
        for (i++; i < length && text[i] >= '0' && text[i] <= '9'; i++, scale *= 0.1) value += (text[i] - '0') * scale;
      }
      total += negative ? -value : value;
    } else if (ch == 't' && text[i + 1] == 'r' && text[i + 2] == 'u' && text[i + 3] == 'e') { literals++; i += 4; }
    else if (ch == 'n' && text[i + 1] == 'u' && text[i + 2] == 'l' && text[i + 3] == 'l') { literals += 2; i += 4; }
    else return 0; /* unexpected character: a checksum no correct run gives */
  }
  return hash ^ (uint32_t)(int64_t)total ^ (uint32_t)(strings * 7 + literals * 13 + maxDepth);
}
