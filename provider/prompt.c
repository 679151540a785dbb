/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prompt.c - the application's own way of asking for a PIN, the last PIN
 * source: OpenSSL's passphrase callback as the store and decoders get it
 * (the openssl CLI's prompt, a server's pem_password_cb), or the hsmkey
 * CLI's prompt handed over directly (hsmkey/prompt.h).
 *
 * It is asked for one login only and its answer goes straight into the
 * core's protected PIN memory; nothing keeps it, so a later login (after
 * the token started over, or the per-signature login of a
 * CKA_ALWAYS_AUTHENTICATE key) never repeats it unasked.
 */
#include <stdio.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "prov.h"

struct asking {
    const struct hkprov_prompt *p;
    const char *label;
    int answered; /* the prompt gave something (maybe empty) */
};

static int fill(unsigned char *buf, size_t cap, size_t *len, void *arg)
{
    struct asking *a = arg;
    char info[96];
    OSSL_PARAM params[2];
    int ok;

    if (a->p->cli != NULL) {
        ok = a->p->cli->fill(a->label, buf, cap, len, a->p->cli->arg);
    } else {
        /* The openssl CLI shows "Enter pass phrase for <info>:". */
        snprintf(info, sizeof(info), "PKCS#11 token %s", a->label);
        params[0] = OSSL_PARAM_construct_utf8_string(
            OSSL_PASSPHRASE_PARAM_INFO, info, 0);
        params[1] = OSSL_PARAM_construct_end();
        ok = a->p->pw_cb((char *)buf, cap, len, params, a->p->pw_cbarg);
    }
    a->answered = ok;
    return ok;
}

static struct hsmkey_pin *ask(const char *token_label, void *arg)
{
    struct asking a = { arg, token_label, 0 };
    struct hsmkey_pin *pin;

    hsmkey_err_set_mark();
    pin = hsmkey_pin_from_fill(fill, &a);
    if (pin != NULL || a.answered) {
        hsmkey_err_clear_last_mark(); /* an empty or too long answer */
        return pin;
    }
    /* What the application's prompt left behind ("ui lib") says less. */
    hsmkey_err_pop_to_mark();
    hsmkey_raise(HSMKEY_R_LOGIN, "token '%s' needs a PIN and none is "
                 "configured (pin-source in openssl.cnf or the URI, or "
                 "HSMKEY_PIN_SOURCE), and the application's prompt gave none",
                 token_label);
    return NULL;
}

int hkprov_login(struct hkprov_ctx *prov, P11KitUri *uri,
                 const struct hkprov_prompt *p)
{
    if (p == NULL || (p->cli == NULL && p->pw_cb == NULL))
        return 1; /* the search logs in with the configured sources */
    return hsmkey_core_login_prompt(prov->core, uri, ask, (void *)p);
}
