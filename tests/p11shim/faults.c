/* SPDX-License-Identifier: Apache-2.0 */
/* faults.c -- fault rules of hsmkey-p11shim.so: parsing and matching.
 *
 * A rule is FUNC:ACTION[:OPTION]... (the grammar is in the README):
 *   FUNC    a PKCS#11 function name, or an fnmatch(3) pattern (*, C_Sign*)
 *           that matches all but the library-level calls (C_Initialize,
 *           C_Finalize, C_GetInfo, C_GetFunctionList)
 *   ACTION  a CKR_* name from the table below, a number (0x30), or stall=MS
 *   OPTION  after=N   the first N matching calls pass
 *           count=N   at most N calls fire, then the rule is spent
 *           every=N   of the calls past `after`, every Nth fires
 * Each rule counts the calls it matches (its hits) on its own; a call fires a
 * rule when, with k = hits - after > 0, k is a multiple of `every` (default 1)
 * and k / every <= count (count 0: no limit). All matching rules count the
 * call; the stalls of those that fire add up, the first failure wins.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

struct shim_rule {
    unsigned char match[SHIM_NFNS];
    CK_RV rv; /* CKR_OK for a stall rule */
    unsigned long stall_ms;
    unsigned long after, count, every;
    atomic_ulong hits;
};

struct shim_rules {
    struct shim_rules *retired_next;
    size_t n;
    struct shim_rule rule[];
};

/* The failures a rule may name; others by number. */
static const struct {
    const char *name;
    CK_RV rv;
} ckr_table[] = {
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
};

static struct shim_rules *_Atomic retired;

/* "N" in decimal (or 0x hex) into *out; 0 on success. */
static int parse_ulong(const char *s, unsigned long *out)
{
    char *end;
    if (*s == '\0' || *s == '-' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 0);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/* Library-level calls: a pattern never matches them (a token that goes away
 * does not make C_Initialize fail); a rule can still name them exactly. */
static int library_level(size_t fn)
{
    return fn == SHIM_C_Initialize || fn == SHIM_C_Finalize ||
           fn == SHIM_C_GetInfo || fn == SHIM_C_GetFunctionList;
}

static const char *parse_func(struct shim_rule *r, const char *f)
{
    int pattern = strpbrk(f, "*?[") != NULL, any = 0;
    for (size_t i = 0; i < SHIM_NFNS; i++) {
        if (pattern && library_level(i))
            continue;
        r->match[i] = fnmatch(f, shim_fns[i].name, 0) == 0;
        any |= r->match[i];
    }
    return any ? NULL : "no PKCS#11 function has this name";
}

static const char *parse_action(struct shim_rule *r, const char *a)
{
    if (strncmp(a, "stall=", 6) == 0) {
        if (parse_ulong(a + 6, &r->stall_ms) != 0 || r->stall_ms > 3600000)
            return "stall=MS needs a number of milliseconds (at most 3600000)";
        return NULL;
    }
    for (size_t i = 0; i < sizeof(ckr_table) / sizeof(ckr_table[0]); i++) {
        if (strcmp(a, ckr_table[i].name) == 0) {
            r->rv = ckr_table[i].rv;
            return NULL;
        }
    }
    if (isdigit((unsigned char)a[0]) && parse_ulong(a, &r->rv) == 0 &&
        r->rv != CKR_OK)
        return NULL;
    return "unknown action (a CKR_* name of the README, a number or stall=MS)";
}

static const char *parse_option(struct shim_rule *r, const char *o)
{
    static const struct {
        const char *key;
        size_t off;
    } opts[] = {
        {"after=", offsetof(struct shim_rule, after)},
        {"count=", offsetof(struct shim_rule, count)},
        {"every=", offsetof(struct shim_rule, every)},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        size_t klen = strlen(opts[i].key);
        if (strncmp(o, opts[i].key, klen) != 0)
            continue;
        if (parse_ulong(o + klen, (unsigned long *)((char *)r + opts[i].off)))
            return "option value is not a number";
        if (strcmp(opts[i].key, "every=") == 0 && r->every == 0)
            return "every= must be at least 1";
        return NULL;
    }
    return "unknown option (after=N, count=N, every=N)";
}

/* Parse one rule TEXT (writable, split in place) into R; NULL or why not. */
static const char *parse_rule(struct shim_rule *r, char *text)
{
    char *save = NULL, *field;
    const char *why;
    int i = 0;

    memset(r, 0, sizeof(*r));
    r->every = 1;
    for (field = strtok_r(text, ":", &save); field != NULL;
         field = strtok_r(NULL, ":", &save), i++) {
        if (i == 0)
            why = parse_func(r, field);
        else if (i == 1)
            why = parse_action(r, field);
        else
            why = parse_option(r, field);
        if (why != NULL)
            return why;
    }
    return i < 2 ? "expected FUNC:ACTION[:OPTION]..." : NULL;
}

/* Trim spaces and a '#' comment from S in place. */
static char *trim(char *s)
{
    char *end, *hash = strchr(s, '#');
    if (hash != NULL)
        *hash = '\0';
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

struct shim_rules *shim_rules_parse(const char *spec, const char *origin,
                                    int *bad)
{
    struct shim_rules *set;
    char *copy, *save = NULL, *item;
    size_t cap = 1;

    if (spec == NULL)
        return NULL;
    for (const char *p = spec; *p != '\0'; p++)
        cap += (*p == ',' || *p == '\n');
    copy = strdup(spec);
    set = calloc(1, sizeof(*set) + cap * sizeof(set->rule[0]));
    if (copy == NULL || set == NULL) {
        free(copy);
        free(set);
        shim_log("%s: out of memory", origin);
        (*bad)++;
        return NULL;
    }
    for (item = strtok_r(copy, ",\n", &save); item != NULL;
         item = strtok_r(NULL, ",\n", &save)) {
        char *rule = trim(item), text[200];
        const char *why;
        if (*rule == '\0')
            continue;
        snprintf(text, sizeof(text), "%s", rule);
        why = parse_rule(&set->rule[set->n], rule);
        if (why == NULL) {
            set->n++;
            continue;
        }
        shim_log("%s: bad rule '%s': %s (ignored)", origin, text, why);
        (*bad)++;
    }
    free(copy);
    if (set->n == 0) {
        free(set);
        return NULL;
    }
    return set;
}

static int rule_fires(struct shim_rule *r)
{
    unsigned long hits = atomic_fetch_add(&r->hits, 1) + 1, k;
    if (hits <= r->after)
        return 0;
    k = hits - r->after;
    if (k % r->every != 0)
        return 0;
    return r->count == 0 || k / r->every <= r->count;
}

void shim_rules_eval(struct shim_rules *rules, enum shim_fn_index fn,
                     struct shim_verdict *v)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->n; i++) {
        struct shim_rule *r = &rules->rule[i];
        if (!r->match[fn] || !rule_fires(r))
            continue;
        if (r->rv == CKR_OK)
            v->stall_ms += r->stall_ms;
        else if (v->rv == CKR_OK)
            v->rv = r->rv;
    }
}

void shim_rules_reset_hits(struct shim_rules *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->n; i++)
        atomic_store(&rules->rule[i].hits, 0);
}

void shim_rules_retire(struct shim_rules *rules)
{
    if (rules == NULL)
        return;
    rules->retired_next = atomic_load(&retired);
    while (!atomic_compare_exchange_weak(&retired, &rules->retired_next, rules))
        ;
}
