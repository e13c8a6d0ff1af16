/*
 * A greeting function. TFaaS runs it once per request as a WASI command:
 * the request body arrives on stdin, whatever is printed to stdout becomes the
 * response body, and stderr goes to the function's log. Request metadata is in
 * the environment (Http_Method, Http_Path, Http_Query, REQUEST_METHOD, ...).
 */
#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value != NULL ? value : fallback;
}

int main(void) {
    char buffer[4096];
    size_t received = 0;
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        received += n;
    }

    printf("Hello from C: %s %s, you sent %zu bytes\n",
           env_or("Http_Method", "GET"), env_or("Http_Path", "/"), received);
    return 0;
}
