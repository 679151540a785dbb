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

static void print_one(FILE *out, unsigned long e, const char *data, int flags,
                      char *last, size_t lastlen)
{
    char line[1024];
    const char *lib, *reason;

    if (!(flags & ERR_TXT_STRING))
        data = "";
    if (is_hsmkey(e) && *data != '\0') {
        snprintf(line, sizeof(line), "hsmkey: %s", data);
    } else {
        lib = ERR_lib_error_string(e);
        reason = ERR_reason_error_string(e);
        snprintf(line, sizeof(line), "hsmkey: %s: %s%s%s",
                 lib != NULL ? lib : "OpenSSL",
                 reason != NULL ? reason : "error",
                 *data != '\0' ? ": " : "", data);
    }
    if (strcmp(line, last) == 0)
        return; /* the same error raised twice on its way up */
    fprintf(out, "%s\n", line);
    snprintf(last, lastlen, "%s", line);
}

int tool_errors_report(FILE *out)
{
    const char *data;
    unsigned long e;
    int flags, code = 0, foreign = 0;
    char last[1024] = "";

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        print_one(out, e, data, flags, last, sizeof(last));
        if (code == 0 && is_hsmkey(e))
            code = tool_exit_for_reason(ERR_GET_REASON(e));
        else if (!is_hsmkey(e))
            foreign = 1;
    }
    if (code != 0)
        return code;
    return foreign ? TOOL_EXIT_USAGE : TOOL_EXIT_TOKEN;
}
