/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.c - what commands print: aligned text tables, "name: value"
 * records, and JSON (a streaming writer with correct escaping).
 *
 * JSON keys are the text columns' names in lower case (CONTRIBUTING.md,
 * "The contract"), so a script can switch between the two forms without a
 * second vocabulary.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "tool.h"

#define JSON_MAX_DEPTH 16

/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static void escape_byte(FILE *out, unsigned char c)
{
    switch (c) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
        if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

void tool_json_escape(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n;

    fputc('"', out);
    while (*p != '\0') {
        n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", out);
            p++;
        } else if (n == 1) {
            escape_byte(out, *p++);
        } else {
            fwrite(p, 1, n, out);
            p += n;
        }
    }
    fputc('"', out);
}

struct tool_json {
    FILE *out;
    int depth;
    int bad;
    char kind[JSON_MAX_DEPTH]; /* '{' or '[' per level */
    int count[JSON_MAX_DEPTH]; /* members written per level */
};

struct tool_json *tool_json_new(FILE *out)
{
    struct tool_json *j = OPENSSL_zalloc(sizeof(*j));

    if (j != NULL)
        j->out = out;
    return j;
}

/* Comma, newline, indent and key before a value. */
static void json_member(struct tool_json *j, const char *key)
{
    if (j->depth == 0) {
        if (j->count[0]++ > 0 || key != NULL)
            j->bad = 1; /* one top-level value, without a key */
        return;
    }
    if ((j->kind[j->depth] == '{') != (key != NULL))
        j->bad = 1;
    fputs(j->count[j->depth]++ > 0 ? ",\n" : "\n", j->out);
    fprintf(j->out, "%*s", 2 * j->depth, "");
    if (key != NULL) {
        tool_json_escape(j->out, key);
        fputs(": ", j->out);
    }
}

static void json_open(struct tool_json *j, const char *key, char kind)
{
    json_member(j, key);
    if (j->depth + 1 >= JSON_MAX_DEPTH) {
        j->bad = 1;
        return;
    }
    fputc(kind, j->out);
    j->depth++;
    j->kind[j->depth] = kind;
    j->count[j->depth] = 0;
}

static void json_close(struct tool_json *j, char kind)
{
    if (j->depth == 0 || j->kind[j->depth] != kind) {
        j->bad = 1;
        return;
    }
    if (j->count[j->depth] > 0)
        fprintf(j->out, "\n%*s", 2 * (j->depth - 1), "");
    fputc(kind == '{' ? '}' : ']', j->out);
    j->depth--;
}

void tool_json_begin_object(struct tool_json *j, const char *key)
{
    json_open(j, key, '{');
}

void tool_json_end_object(struct tool_json *j)
{
    json_close(j, '{');
}

void tool_json_begin_array(struct tool_json *j, const char *key)
{
    json_open(j, key, '[');
}

void tool_json_end_array(struct tool_json *j)
{
    json_close(j, '[');
}

void tool_json_string(struct tool_json *j, const char *key, const char *v)
{
    json_member(j, key);
    if (v == NULL)
        fputs("null", j->out);
    else
        tool_json_escape(j->out, v);
}

void tool_json_bool(struct tool_json *j, const char *key, int v)
{
    json_member(j, key);
    fputs(v ? "true" : "false", j->out);
}

void tool_json_int(struct tool_json *j, const char *key, long long v)
{
    json_member(j, key);
    fprintf(j->out, "%lld", v);
}

void tool_json_null(struct tool_json *j, const char *key)
{
    json_member(j, key);
    fputs("null", j->out);
}

int tool_json_finish(struct tool_json *j)
{
    int ok;

    if (j == NULL)
        return 0;
    ok = !j->bad && j->depth == 0 && j->count[0] == 1;
    fputc('\n', j->out);
    OPENSSL_free(j);
    return ok;
}

char *tool_hex(const unsigned char *data, size_t len)
{
    char *out = OPENSSL_malloc(2 * len + 1);

    if (out == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", data[i]);
    out[2 * len] = '\0';
    return out;
}
