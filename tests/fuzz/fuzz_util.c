/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_util.c - the err.h sink and the input and file helpers of the fuzz
 * targets (fuzz.h).
 */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "hsmkey/err.h"
#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt,
               ...)
{
    va_list ap;

    fprintf(stderr, "\n%s:%d: contract broken: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    abort();
}

int fuzz_known(const char *id)
{
    const char *list = getenv("HSMKEY_FUZZ_KNOWN");
    size_t n = strlen(id);

    if (list == NULL)
        return 0;
    if (strcmp(list, "all") == 0)
        return 1;
    for (const char *p = list; (p = strstr(p, id)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

/* ---- err.h sink ---- */

#define MSG_MAX 2048
#define MARKS_MAX 32

static struct {
    int count;
    char last[MSG_MAX];
} state, marks[MARKS_MAX];
static int nmarks;
static char *forbidden;
static size_t forbidden_len;

void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...)
{
    va_list ap;

    FUZZ_ASSERT(reason > HSMKEY_R_NONE && reason < HSMKEY_R_MAX,
                "%s:%d %s raised reason %d", file, line, func, reason);
    state.count++;
    va_start(ap, fmt);
    vsnprintf(state.last, sizeof(state.last), fmt, ap);
    va_end(ap);
    FUZZ_ASSERT(state.last[0] != '\0', "%s:%d %s raised an empty message",
                file, line, func);
    if (forbidden != NULL)
        FUZZ_ASSERT(memmem(state.last, strlen(state.last), forbidden,
                           forbidden_len) == NULL,
                    "%s:%d %s: a message shows a secret: %s", file, line,
                    func, state.last);
}

void hsmkey_err_set_mark(void)
{
    if (nmarks < MARKS_MAX)
        marks[nmarks] = state;
    nmarks++;
}

void hsmkey_err_pop_to_mark(void)
{
    FUZZ_ASSERT(nmarks > 0, "%s", "pop_to_mark without a mark");
    nmarks--;
    if (nmarks < MARKS_MAX) {
        /* What was raised since the mark is gone; the count is kept, so
         * a target still sees that something was said and taken back. */
        int count = state.count;

        state = marks[nmarks];
        state.count = count;
    }
}

void hsmkey_err_clear_last_mark(void)
{
    FUZZ_ASSERT(nmarks > 0, "%s", "clear_last_mark without a mark");
    nmarks--;
}

int tool_errors_ours_queued(void)
{
    return state.last[0] != '\0';
}

void fuzz_err_reset(void)
{
    FUZZ_ASSERT(nmarks == 0, "%d error mark(s) left set", nmarks);
    memset(&state, 0, sizeof(state));
    fuzz_err_forbid(NULL, 0);
}

int fuzz_err_count(void)
{
    return state.count;
}

const char *fuzz_err_last(void)
{
    return state.last;
}

void fuzz_err_forbid(const void *s, size_t len)
{
    free(forbidden);
    forbidden = NULL;
    forbidden_len = 0;
    if (s == NULL || len == 0)
        return;
    forbidden = malloc(len);
    FUZZ_ASSERT(forbidden != NULL, "%s", "out of memory");
    memcpy(forbidden, s, len);
    forbidden_len = len;
}

/* ---- inputs ---- */

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul != NULL ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);

    FUZZ_ASSERT(s != NULL, "%s", "out of memory");
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

size_t fuzz_split(const uint8_t *data, size_t size, char **buf, char **out,
                  size_t max)
{
    size_t n = 0, i;
    char *p;

    *buf = malloc(size + 1);
    FUZZ_ASSERT(*buf != NULL, "%s", "out of memory");
    memcpy(*buf, data, size);
    (*buf)[size] = '\0';
    if (max == 0)
        return 0;
    out[n++] = p = *buf;
    for (i = 0; i < size && n < max; i++)
        if (p[i] == '\0')
            out[n++] = p + i + 1;
    return n;
}

/* ---- files ---- */

static char tmpdir[256];
static pid_t tmpdir_owner; /* children of replay.c leave it to the parent */

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tmpdir(void)
{
    if (tmpdir[0] != '\0' && getpid() == tmpdir_owner)
        nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
    const char *base = getenv("TMPDIR");

    if (tmpdir[0] != '\0')
        return tmpdir;
    snprintf(tmpdir, sizeof(tmpdir), "%s/hsmkey-fuzz-XXXXXX",
             base != NULL && *base != '\0' && strlen(base) < 200 ? base
                                                                 : "/tmp");
    FUZZ_ASSERT(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
    tmpdir_owner = getpid();
    atexit(remove_tmpdir);
    return tmpdir;
}

char *fuzz_path(const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", fuzz_tmpdir(), name);

    FUZZ_ASSERT(n > 0 && (size_t)n < len, "path for %s does not fit", name);
    return buf;
}

void fuzz_write(const char *path, const void *data, size_t len)
{
    int fd;

    /* A new file each time: truncating one makes ext4 flush it on close
     * (auto_da_alloc), which slows a run down a hundredfold. */
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    FUZZ_ASSERT(fd >= 0, "cannot create %s", path);
    FUZZ_ASSERT(len == 0 || write(fd, data, len) == (ssize_t)len,
                "cannot write %s", path);
    close(fd);
}
