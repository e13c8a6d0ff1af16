/*
 * A greeting in C that shows the three ways a function receives input:
 * the request (body on stdin, method and path in Http_* variables), its
 * configuration (envVars, here GREETING_SUBJECT from stack.yml's environment)
 * and its secrets (files under /var/openfaas/secrets, here the optional
 * "greeting").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env_or(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

/* Reads the secret into buffer; returns 0 when it is absent, so the function still works without it. */
static int read_secret(const char *path, char *buffer, size_t size) {
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    size_t length = fread(buffer, 1, size - 1, file);
    fclose(file);
    /* Secrets are often created with a trailing newline. */
    while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r')) length--;
    buffer[length] = '\0';
    return length > 0;
}

int main(void) {
    char chunk[4096];
    size_t received = 0;
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) received += n;

    char greeting[256];
    if (!read_secret("/var/openfaas/secrets/greeting", greeting, sizeof greeting)) {
        strcpy(greeting, "Hello");
    }

    printf("%s, %s! This is C on TFaaS: %s %s, you sent %zu bytes\n",
           greeting, env_or("GREETING_SUBJECT", "world"),
           env_or("Http_Method", "GET"), env_or("Http_Path", "/"), received);
    /* Never log the secret itself; that it was found is enough. */
    fprintf(stderr, "hello-c: answered %s %s\n", env_or("Http_Method", "GET"), env_or("Http_Path", "/"));
    return 0;
}
