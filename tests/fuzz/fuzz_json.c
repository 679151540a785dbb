/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_json.c - decodes what tool_json_escape() wrote, the way a JSON
 * parser would, and compares (fuzz_json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_json.h"
#include "tool.h"

/* Code point of the UTF-8 sequence at s[0..n), its length in *len; -1. */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
    size_t k = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    unsigned long cp;

    if (k == 0 || k > n)
        return -1;
    cp = k == 1 ? s[0] : s[0] & (0x7f >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = k;
    return (long)cp;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t len;

    for (size_t i = 0; i < n; i += len)
        if (utf8_next(s + i, n - i, &len) < 0)
            return 0;
    return 1;
}

static size_t put_utf8(unsigned char *o, unsigned long cp)
{
    static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
    size_t k = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    for (size_t i = k - 1; i > 0; i--) {
        o[i] = (unsigned char)(0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    o[0] = (unsigned char)(lead[k] | cp);
    return k;
}

static long hex4(const char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;

        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Decode the JSON string text[0..n) into out; its length, or aborts. */
static size_t decode(const char *text, size_t n, unsigned char *out)
{
    static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";
    size_t o = 0, i = 1;

    FUZZ_ASSERT(n >= 2 && text[0] == '"' && text[n - 1] == '"',
                "not one JSON string: %.*s", (int)n, text);
    while (i < n - 1) {
        unsigned char c = (unsigned char)text[i];
        const char *e;
        long cp;

        FUZZ_ASSERT(c >= 0x20 && c != '"', "raw 0x%02x in a JSON string", c);
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        FUZZ_ASSERT(i + 1 < n - 1, "%s", "a JSON string ends in '\\'");
        if (text[i + 1] != 'u') {
            e = strchr(esc, text[i + 1]);
            FUZZ_ASSERT(text[i + 1] != '\0' && e != NULL,
                        "bad escape \\%c", text[i + 1]);
            out[o++] = (unsigned char)val[e - esc];
            i += 2;
            continue;
        }
        FUZZ_ASSERT(i + 6 <= n - 1 && (cp = hex4(text + i + 2)) >= 0,
                    "%s", "bad \\u escape");
        FUZZ_ASSERT(cp < 0xd800 || cp > 0xdfff, "%s",
                    "a lone surrogate escape");
        o += put_utf8(out + o, (unsigned long)cp);
        i += 6;
    }
    return o;
}

void fuzz_json_check(const char *s)
{
    char *text = NULL;
    size_t n = 0, len = strlen(s), got;
    FILE *mem = open_memstream(&text, &n);
    unsigned char *out;

    FUZZ_ASSERT(mem != NULL, "%s", "open_memstream failed");
    tool_json_escape(mem, s);
    FUZZ_ASSERT(fclose(mem) == 0, "%s", "memstream failed");
    out = malloc(n + 1);
    FUZZ_ASSERT(out != NULL, "%s", "out of memory");
    got = decode(text, n, out);
    FUZZ_ASSERT(valid_utf8(out, got), "JSON for '%s' is not valid UTF-8", s);
    if (valid_utf8((const unsigned char *)s, len))
        FUZZ_ASSERT(got == len && memcmp(out, s, len) == 0,
                    "JSON for '%s' decodes to something else", s);
    free(out);
    free(text);
}
