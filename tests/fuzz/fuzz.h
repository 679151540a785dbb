/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz.h - what the hsmkey fuzz targets share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput().  Built with clang
 * and -fsanitize=fuzzer it is a libFuzzer target (tests/fuzz/run.sh); built
 * with replay.c by any compiler it replays the seed corpus as a unit test.
 *
 * fuzz_util.c is the err.h sink of every target: it keeps the last message
 * and the number of raises, and aborts when a message contains a string the
 * target has forbidden (a PIN), so "no message ever contains a PIN" is
 * checked on every input.
 */
#ifndef HSMKEY_FUZZ_H
#define HSMKEY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A contract of the code under test does not hold: print and abort(). */
#define FUZZ_ASSERT(cond, ...)                                                \
    do {                                                                      \
        if (!(cond))                                                          \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
    } while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt,
               ...) __attribute__((noreturn, format(printf, 4, 5)));

/*
 * 1 when the environment variable HSMKEY_FUZZ_KNOWN lists id (a comma-
 * separated list, or "all"): a target then lets inputs of that listed,
 * not yet fixed bug pass, so a long run can look for other bugs.  Replays
 * and CI runs leave it unset.  The ids are in tests/fuzz/README.md.
 */
int fuzz_known(const char *id);

/* ---- the err.h sink ---- */

void fuzz_err_reset(void);
int fuzz_err_count(void);        /* raises since the last reset */
const char *fuzz_err_last(void); /* "" when none */
/* Abort when a later message contains s (NULL: forbid nothing). Copied. */
void fuzz_err_forbid(const void *s, size_t len);
/* The CLI sink's question (tool.h), answered by this sink: 1 when an
 * error was raised since the last reset and not taken back. */
int tool_errors_ours_queued(void);

/* ---- inputs ---- */

/* data as a C string, cut at the first NUL (what argv or a config gives). */
char *fuzz_cstr(const uint8_t *data, size_t size);
/*
 * Split data at NUL bytes into at most max strings ("a\0" is "a" and "");
 * returns the count.  The strings live in *buf (free it).
 */
size_t fuzz_split(const uint8_t *data, size_t size, char **buf, char **out,
                  size_t max);

/* ---- files ---- */

/*
 * A private directory for this process, removed at exit (run.sh also
 * points TMPDIR at a directory it removes, for runs that end in a crash).
 */
const char *fuzz_tmpdir(void);
/* fuzz_tmpdir()/name into buf[len]; aborts when it does not fit. */
char *fuzz_path(const char *name, char *buf, size_t len);
/* Create or replace dir/name with data; aborts on failure. */
void fuzz_write(const char *path, const void *data, size_t len);

#endif
