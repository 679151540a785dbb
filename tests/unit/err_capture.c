/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err_capture.c - implements the err.h sink for unit tests.  The core
 * library leaves it undefined so each binary chooses; here it records the
 * last error instead of printing, and marks restore that record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsmkey/err.h"
#include "err_capture.h"

#define MARK_DEPTH 8

struct capture {
    int count;
    int reason;
    char message[1024];
};

static struct capture last;
static struct capture marks[MARK_DEPTH];
static int nmarks;

void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...)
{
    va_list ap;

    (void)file;
    (void)line;
    (void)func;
    last.count++;
    last.reason = reason;
    va_start(ap, fmt);
    vsnprintf(last.message, sizeof(last.message), fmt, ap);
    va_end(ap);
}

void hsmkey_err_set_mark(void)
{
    if (nmarks < MARK_DEPTH)
        marks[nmarks] = last;
    nmarks++;
}

void hsmkey_err_pop_to_mark(void)
{
    if (nmarks == 0)
        return;
    nmarks--;
    if (nmarks < MARK_DEPTH)
        last = marks[nmarks];
}

void err_capture_reset(void)
{
    memset(&last, 0, sizeof(last));
    nmarks = 0;
}

int err_capture_count(void)
{
    return last.count;
}

int err_capture_reason(void)
{
    return last.reason;
}

const char *err_capture_message(void)
{
    return last.message;
}

int err_capture_contains(const char *needle)
{
    return strstr(last.message, needle) != NULL;
}

int err_capture_setup(void **state)
{
    (void)state;
    err_capture_reset();
    return 0;
}

/* Errors raised since the mark stay; only the mark goes. */
void hsmkey_err_clear_last_mark(void)
{
    if (nmarks > 0)
        nmarks--;
}
