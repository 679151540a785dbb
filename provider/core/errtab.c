/* SPDX-License-Identifier: Apache-2.0 */
/*
 * errtab.c - the reason table: one string and one exit class per
 * enum hsmkey_reason, shared by the provider's reason strings and the CLI's
 * exit-code mapping so the two can never disagree.
 */
#include <stddef.h>

#include "hsmkey/err.h"

struct reason_entry {
    const char *string;
    enum hsmkey_errclass class;
};

static const struct reason_entry reasons[HSMKEY_R_MAX] = {
    [HSMKEY_R_NONE] = { "no error", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_BAD_ARGUMENT] = { "bad argument", HSMKEY_CLASS_INPUT },
    [HSMKEY_R_BAD_URI] = { "bad pkcs11 URI", HSMKEY_CLASS_INPUT },
    [HSMKEY_R_BAD_INPUT] = { "bad input", HSMKEY_CLASS_INPUT },
    [HSMKEY_R_FILE] = { "file error", HSMKEY_CLASS_INPUT },
    [HSMKEY_R_PIN_SOURCE] = { "bad pin source", HSMKEY_CLASS_INPUT },
    [HSMKEY_R_MODULE] = { "PKCS#11 module error", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_TOKEN_NOT_FOUND] = { "token not found", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_KEY_NOT_FOUND] = { "key not found", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_AMBIGUOUS] = { "ambiguous URI", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_LOGIN] = { "login failed", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_PKCS11] = { "PKCS#11 error", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_UNSUPPORTED] = { "unsupported", HSMKEY_CLASS_TOKEN },
    [HSMKEY_R_INTERNAL] = { "internal error", HSMKEY_CLASS_TOKEN },
};

/* Reasons arrive as int through OpenSSL's error queue, so any value. */
static const struct reason_entry *reason_lookup(int reason)
{
    if (reason < 0 || reason >= HSMKEY_R_MAX)
        return NULL;
    if (reasons[reason].string == NULL)
        return NULL;
    return &reasons[reason];
}

const char *hsmkey_reason_string(int reason)
{
    const struct reason_entry *e = reason_lookup(reason);

    return e != NULL ? e->string : "unknown reason";
}

/* An unknown reason is a broken invariant, which is INTERNAL's class. */
enum hsmkey_errclass hsmkey_reason_class(int reason)
{
    const struct reason_entry *e = reason_lookup(reason);

    return e != NULL ? e->class : HSMKEY_CLASS_TOKEN;
}
