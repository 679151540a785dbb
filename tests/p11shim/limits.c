/* SPDX-License-Identifier: Apache-2.0 */
/* limits.c -- the limits of a real HSM that SoftHSM2 does not have, from
 * $HSMKEY_SHIM_LIMITS (parsed once per process, at the first C_Initialize):
 *
 *   sessions=N      at most N sessions of this process open at once (all
 *                   slots together): the next C_OpenSession fails with
 *                   CKR_SESSION_COUNT; C_GetTokenInfo says ulMaxSessionCount N
 *   rw-sessions=N   the same for read/write sessions (ulMaxRwSessionCount)
 *   readonly        C_OpenSession with CKF_RW_SESSION fails with
 *                   CKR_TOKEN_WRITE_PROTECTED; C_GetTokenInfo sets
 *                   CKF_WRITE_PROTECTED
 *   no-copy         C_CopyObject fails with CKR_FUNCTION_NOT_SUPPORTED
 *
 * Items are separated by ',' or spaces. Sessions the shim declared dead do
 * not count: a real token has closed them. The counting itself is in
 * sessions.c, under its lock, so two threads cannot both take the last one.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* Set once under the load lock (shim.c), before any session exists; read
 * without a lock afterwards. */
static struct shim_limits limits;
static int limits_bad;
static atomic_int limits_parsed;

static int parse_count(const char *s, unsigned long *out)
{
    char *end;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return (errno != 0 || *end != '\0' || *out == 0) ? -1 : 0;
}

static const char *parse_item(const char *item)
{
    if (strncmp(item, "sessions=", 9) == 0)
        return parse_count(item + 9, &limits.sessions) == 0
                   ? NULL
                   : "sessions=N needs a number of at least 1";
    if (strncmp(item, "rw-sessions=", 12) == 0)
        return parse_count(item + 12, &limits.rw_sessions) == 0
                   ? NULL
                   : "rw-sessions=N needs a number of at least 1";
    if (strcmp(item, "readonly") == 0) {
        limits.readonly = 1;
        return NULL;
    }
    if (strcmp(item, "no-copy") == 0) {
        limits.no_copy = 1;
        return NULL;
    }
    return "unknown limit (sessions=N, rw-sessions=N, readonly, no-copy)";
}

void shim_limits_init(void)
{
    const char *spec = getenv("HSMKEY_SHIM_LIMITS");
    char *copy, *save = NULL, *item;

    if (atomic_load(&limits_parsed))
        return;
    atomic_store(&limits_parsed, 1);
    if (spec == NULL || *spec == '\0')
        return;
    copy = strdup(spec);
    if (copy == NULL) {
        shim_log("HSMKEY_SHIM_LIMITS: out of memory");
        limits_bad++;
        return;
    }
    for (item = strtok_r(copy, ", \t\n", &save); item != NULL;
         item = strtok_r(NULL, ", \t\n", &save)) {
        const char *why = parse_item(item);
        if (why != NULL) {
            shim_log("HSMKEY_SHIM_LIMITS: bad limit '%s': %s (ignored)", item,
                     why);
            limits_bad++;
        }
    }
    free(copy);
}

int shim_limits_bad(void)
{
    return limits_bad;
}

const struct shim_limits *shim_limits(void)
{
    return &limits;
}

/* What a token with these limits says about itself. */
void shim_limits_token_info(CK_TOKEN_INFO_PTR info)
{
    unsigned long open, rw;

    if (limits.readonly)
        info->flags |= CKF_WRITE_PROTECTED;
    if (limits.sessions == 0 && limits.rw_sessions == 0)
        return;
    shim_sess_live(&open, &rw);
    if (limits.sessions != 0) {
        info->ulMaxSessionCount = limits.sessions;
        info->ulSessionCount = open;
    }
    if (limits.rw_sessions != 0) {
        info->ulMaxRwSessionCount = limits.rw_sessions;
        info->ulRwSessionCount = rw;
    }
}
