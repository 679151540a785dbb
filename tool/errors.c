/* SPDX-License-Identifier: Apache-2.0 */
/*
 * errors.c - the CLI's sink for err.h.
 *
 * Errors the core raises inside the CLI go into OpenSSL's error queue under
 * a library code of our own (named "hsmkey"), with the reason HSMKEY_R_*
 * and the formatted message as the error's data.  The hsmkey provider,
 * loaded into the CLI for key operations, lands its errors in the same
 * queue under the library OpenSSL gave it (also named "hsmkey").  So both
 * print the same way: "hsmkey: <message>".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>

#include "tool.h"

static int err_lib;
static ERR_STRING_DATA lib_strings[2];

int tool_err_lib(void)
{
    if (err_lib == 0) {
        err_lib = ERR_get_next_error_library();
        lib_strings[0].error = ERR_PACK(err_lib, 0, 0);
        lib_strings[0].string = "hsmkey";
        ERR_load_strings(err_lib, lib_strings);
    }
    return err_lib;
}

void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...)
{
    va_list ap;

    ERR_new();
    ERR_set_debug(file, line, func);
    va_start(ap, fmt);
    ERR_vset_error(tool_err_lib(), reason, fmt, ap);
    va_end(ap);
}

void hsmkey_err_set_mark(void)
{
    ERR_set_mark();
}

void hsmkey_err_pop_to_mark(void)
{
    ERR_pop_to_mark();
}

void hsmkey_err_clear_last_mark(void)
{
    ERR_clear_last_mark();
}

int tool_exit_for_reason(int reason)
{
    return hsmkey_reason_class(reason) == HSMKEY_CLASS_INPUT
               ? TOOL_EXIT_USAGE : TOOL_EXIT_TOKEN;
}

/* Ours, or the hsmkey provider's (OpenSSL names its library "hsmkey"). */
static int is_hsmkey(unsigned long e)
{
    const char *lib = ERR_lib_error_string(e);

    return ERR_GET_LIB(e) == tool_err_lib()
           || (lib != NULL && strcmp(lib, "hsmkey") == 0);
}

/* The provider's own error comes before OpenSSL's generic ones that the
 * decoder or store add after it ("No supported data to decode"). */
int tool_errors_ours_queued(void)
{
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();

    return (first != 0 && is_hsmkey(first)) || (last != 0 && is_hsmkey(last));
}

struct queued {
    unsigned long e;
    char data[768];
};

#define QUEUE_MAX 32

static void format_one(const struct queued *q, char *line, size_t len)
{
    const char *lib, *reason;

    if (is_hsmkey(q->e) && q->data[0] != '\0') {
        snprintf(line, len, "hsmkey: %s", q->data);
        return;
    }
    lib = ERR_lib_error_string(q->e);
    reason = ERR_reason_error_string(q->e);
    snprintf(line, len, "hsmkey: %s: %s%s%s", lib != NULL ? lib : "OpenSSL",
             reason != NULL ? reason : "error", q->data[0] ? ": " : "",
             q->data);
}

/* Drain the queue (oldest first); *ours counts hsmkey's errors. */
static size_t drain(struct queued *q, size_t max, size_t *ours)
{
    const char *data;
    unsigned long e;
    int flags;
    size_t n = 0;

    *ours = 0;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (n == max)
            continue;
        q[n].e = e;
        snprintf(q[n].data, sizeof(q[n].data), "%s",
                 (flags & ERR_TXT_STRING) && data != NULL ? data : "");
        *ours += is_hsmkey(e);
        n++;
    }
    return n;
}

/*
 * When hsmkey raised anything, only its messages are printed: they name the
 * culprit, while OpenSSL's own queue also holds noise of libraries loaded
 * into the process (a PKCS#11 module probing for engines, say).
 */
int tool_errors_report(FILE *out)
{
    static struct queued q[QUEUE_MAX];
    char line[1024], last[1024] = "";
    size_t ours, n = drain(q, QUEUE_MAX, &ours);
    int code = 0;

    for (size_t i = 0; i < n; i++) {
        if (ours > 0 && !is_hsmkey(q[i].e))
            continue;
        if (code == 0 && is_hsmkey(q[i].e))
            code = tool_exit_for_reason(ERR_GET_REASON(q[i].e));
        format_one(&q[i], line, sizeof(line));
        if (strcmp(line, last) != 0)
            fprintf(out, "%s\n", line);
        snprintf(last, sizeof(last), "%s", line);
    }
    if (code != 0)
        return code;
    return n > 0 ? TOOL_EXIT_USAGE : TOOL_EXIT_TOKEN;
}

/* The lines of text, without their "hsmkey: " prefix. */
static char **split_lines(const char *text, size_t *n)
{
    char **lines = NULL, **grown;
    const char *p = text;

    *n = 0;
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, "\n");
        const char *line = strncmp(p, "hsmkey: ", 8) == 0 && len >= 8
                               ? p + 8 : p;

        if ((grown = OPENSSL_realloc(lines, (*n + 1) * sizeof(*lines)))
            == NULL)
            break;
        lines = grown;
        if ((lines[*n] = OPENSSL_strndup(line, len - (line - p))) == NULL)
            break;
        (*n)++;
        p += len + (p[len] == '\n');
    }
    return lines;
}

int tool_errors_collect(FILE *out, char ***msgs, size_t *n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc;

    *msgs = NULL;
    *n = 0;
    if (mem == NULL)
        return tool_errors_report(out);
    rc = tool_errors_report(mem);
    if (fclose(mem) == 0 && text != NULL) {
        fputs(text, out);
        *msgs = split_lines(text, n);
    }
    free(text);
    return rc;
}

void tool_errors_free(char **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        OPENSSL_free(msgs[i]);
    OPENSSL_free(msgs);
}

void tool_json_errors(struct tool_json *j, char **msgs, size_t n)
{
    tool_json_begin_array(j, "errors");
    for (size_t i = 0; i < n; i++)
        tool_json_string(j, NULL, msgs[i]);
    tool_json_end_array(j);
}

int tool_errors_report_json(FILE *err, FILE *out)
{
    char **msgs;
    size_t n;
    int rc = tool_errors_collect(err, &msgs, &n);
    struct tool_json *j = tool_json_new(out);

    if (j != NULL) {
        tool_json_begin_object(j, NULL);
        tool_json_bool(j, "ok", 0);
        tool_json_int(j, "exit_code", rc);
        tool_json_errors(j, msgs, n);
        tool_json_end_object(j);
        tool_json_finish(j);
    }
    tool_errors_free(msgs, n);
    return rc;
}
