/* SPDX-License-Identifier: Apache-2.0 */
/*
 * errors.c - the provider's sink for err.h: errors go to the application's
 * error queue through the core's upcalls, so `openssl`, nginx, curl and
 * Python print them with hsmkey's reason strings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>

#include "prov.h"

static const OSSL_CORE_HANDLE *err_handle;
static OSSL_FUNC_core_new_error_fn *up_new_error;
static OSSL_FUNC_core_set_error_debug_fn *up_set_debug;
static OSSL_FUNC_core_vset_error_fn *up_vset_error;
static OSSL_FUNC_core_set_error_mark_fn *up_set_mark;
static OSSL_FUNC_core_pop_error_to_mark_fn *up_pop_mark;
static OSSL_FUNC_core_clear_last_error_mark_fn *up_clear_mark;
static OSSL_ITEM reasons[HSMKEY_R_MAX];

int hkprov_errors_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in)
{
    for (; in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            up_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            up_set_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            up_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_MARK:
            up_set_mark = OSSL_FUNC_core_set_error_mark(in);
            break;
        case OSSL_FUNC_CORE_CLEAR_LAST_ERROR_MARK:
            up_clear_mark = OSSL_FUNC_core_clear_last_error_mark(in);
            break;
        case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
            up_pop_mark = OSSL_FUNC_core_pop_error_to_mark(in);
            break;
        }
    }
    err_handle = handle;
    /* Built from the core's table: one place for each string. */
    for (int r = 1; r < HSMKEY_R_MAX; r++) {
        reasons[r - 1].id = r;
        reasons[r - 1].ptr = (void *)hsmkey_reason_string(r);
    }
    return up_new_error != NULL && up_vset_error != NULL;
}

void hsmkey_raise_at(const char *file, int line, const char *func, int reason,
                     const char *fmt, ...)
{
    va_list ap;

    if (up_new_error == NULL || up_vset_error == NULL)
        return;
    up_new_error(err_handle);
    if (up_set_debug != NULL)
        up_set_debug(err_handle, file, line, func);
    va_start(ap, fmt);
    up_vset_error(err_handle, reason, fmt, ap);
    va_end(ap);
}

void hsmkey_err_set_mark(void)
{
    if (up_set_mark != NULL)
        up_set_mark(err_handle);
}

void hsmkey_err_pop_to_mark(void)
{
    if (up_pop_mark != NULL)
        up_pop_mark(err_handle);
}

void hsmkey_err_clear_last_mark(void)
{
    if (up_clear_mark != NULL)
        up_clear_mark(err_handle);
}

const OSSL_ITEM *hkprov_reason_strings(void)
{
    return reasons;
}
