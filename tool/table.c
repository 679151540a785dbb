/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table.c - rows under named columns, printed as an aligned text table, as
 * "name: value" records, or as JSON keyed by the lower-case column names.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "tool.h"

struct tool_table {
    const struct tool_column *cols;
    size_t ncols;
    char **cells; /* nrows * ncols, NULL for none */
    size_t nrows;
};

struct tool_table *tool_table_new(const struct tool_column *cols,
                                  size_t ncols)
{
    struct tool_table *t = OPENSSL_zalloc(sizeof(*t));

    if (t == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return NULL;
    }
    t->cols = cols;
    t->ncols = ncols;
    return t;
}

void tool_table_free(struct tool_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        OPENSSL_free(t->cells[i]);
    OPENSSL_free(t->cells);
    OPENSSL_free(t);
}

size_t tool_table_rows(const struct tool_table *t)
{
    return t->nrows;
}

int tool_table_add(struct tool_table *t, const char *const *values)
{
    size_t base = t->nrows * t->ncols;
    char **grown = OPENSSL_realloc(t->cells,
                                   (base + t->ncols) * sizeof(*grown));

    if (grown == NULL)
        goto oom;
    t->cells = grown;
    memset(grown + base, 0, t->ncols * sizeof(*grown));
    t->nrows++;
    for (size_t c = 0; c < t->ncols; c++)
        if (values[c] != NULL
            && (grown[base + c] = OPENSSL_strdup(values[c])) == NULL)
            goto oom;
    return 1;
oom:
    hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
    return 0;
}

/* "FREE SLOTS" -> "free_slots" */
static void json_key(const char *name, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < outlen; i++)
        out[i] = name[i] == ' ' ? '_' : (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static void json_cell(struct tool_json *j, const struct tool_column *col,
                      const char *v)
{
    char key[64];

    json_key(col->name, key, sizeof(key));
    if (v == NULL)
        tool_json_null(j, key);
    else if (col->type == TOOL_COL_BOOL)
        tool_json_bool(j, key, strcmp(v, "yes") == 0);
    else if (col->type == TOOL_COL_INT)
        tool_json_int(j, key, strtoll(v, NULL, 10));
    else
        tool_json_string(j, key, v);
}

static void json_row(const struct tool_table *t, struct tool_json *j,
                     size_t r)
{
    tool_json_begin_object(j, NULL);
    for (size_t c = 0; c < t->ncols; c++)
        json_cell(j, &t->cols[c], t->cells[r * t->ncols + c]);
    tool_json_end_object(j);
}

static int print_json(const struct tool_table *t, FILE *out, int record)
{
    struct tool_json *j = tool_json_new(out);

    if (j == NULL) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
        return 0;
    }
    if (record) {
        json_row(t, j, 0);
    } else {
        tool_json_begin_array(j, NULL);
        for (size_t r = 0; r < t->nrows; r++)
            json_row(t, j, r);
        tool_json_end_array(j);
    }
    if (!tool_json_finish(j)) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "malformed JSON output");
        return 0;
    }
    return 1;
}

static const char *text_cell(const struct tool_table *t, size_t r, size_t c)
{
    const char *v = t->cells[r * t->ncols + c];

    return v != NULL ? v : "-";
}

static void print_cell(FILE *out, const char *v, size_t width, int last)
{
    if (last)
        fprintf(out, "%s\n", v);
    else
        fprintf(out, "%-*s  ", (int)width, v);
}

/* The text columns: JSON-only ones left out; *last is the last shown. */
static size_t text_columns(const struct tool_table *t, size_t *last)
{
    size_t nc = t->ncols < 32 ? t->ncols : 32;

    *last = 0;
    for (size_t c = 0; c < nc; c++)
        if (!t->cols[c].json_only)
            *last = c;
    return nc;
}

static void print_text(const struct tool_table *t, FILE *out)
{
    size_t width[32] = { 0 }, last;
    size_t nc = text_columns(t, &last);

    for (size_t c = 0; c < nc; c++) {
        width[c] = strlen(t->cols[c].name);
        for (size_t r = 0; r < t->nrows; r++)
            if (strlen(text_cell(t, r, c)) > width[c])
                width[c] = strlen(text_cell(t, r, c));
    }
    for (size_t c = 0; c < nc; c++)
        if (!t->cols[c].json_only)
            print_cell(out, t->cols[c].name, width[c], c == last);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < nc; c++)
            if (!t->cols[c].json_only)
                print_cell(out, text_cell(t, r, c), width[c], c == last);
}

int tool_table_print(const struct tool_table *t, FILE *out, int json)
{
    if (json)
        return print_json(t, out, 0);
    print_text(t, out);
    return 1;
}

int tool_table_print_record(const struct tool_table *t, FILE *out, int json)
{
    char key[64];

    if (t->nrows == 0) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "no record to print");
        return 0;
    }
    if (json)
        return print_json(t, out, 1);
    for (size_t c = 0; c < t->ncols; c++) {
        if (t->cols[c].json_only)
            continue;
        json_key(t->cols[c].name, key, sizeof(key));
        fprintf(out, "%s: %s\n", key, text_cell(t, 0, c));
    }
    return 1;
}
