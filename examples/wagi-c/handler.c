/*
 * The wagi response mode (annotation com.tfaas.abi: wagi): stdout starts with
 * CGI headers, then a blank line, then the body. Here the function answers
 * 201 Created with a JSON description of the request it received, read from
 * the CGI variables REQUEST_METHOD, PATH_INFO and QUERY_STRING.
 */
#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value != NULL ? value : fallback;
}

/* Prints text as a JSON string literal. */
static void print_json_string(const char *text) {
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        switch (*c) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*c < 0x20) printf("\\u%04x", *c);
            else putchar(*c);
        }
    }
    putchar('"');
}

int main(void) {
    fputs("Content-Type: application/json\n", stdout);
    fputs("Status: 201 Created\n", stdout);
    fputs("\n", stdout);

    fputs("{\"method\":", stdout);
    print_json_string(env_or("REQUEST_METHOD", "GET"));
    fputs(",\"path\":", stdout);
    print_json_string(env_or("PATH_INFO", "/"));
    fputs(",\"query\":", stdout);
    print_json_string(env_or("QUERY_STRING", ""));
    fputs("}\n", stdout);
    return 0;
}
