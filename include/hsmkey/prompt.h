/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prompt.h - what the hsmkey CLI tells hsmkey.so's key-reference decoder
 * (OSSL_DECODER_CTX_set_params), so that a PIN typed at the CLI's prompt
 * goes from the CLI's protected PIN memory into the provider's without
 * OpenSSL in between: its passphrase wrapper keeps a heap copy of every
 * answer while a decode runs.
 */
#ifndef HSMKEY_PROMPT_H
#define HSMKEY_PROMPT_H

#include <stddef.h>

/* octet string: a struct hsmkey_prompt_param */
#define HSMKEY_PARAM_PIN_PROMPT "hsmkey-pin-prompt"
/* int: 1 when the URI was given to the application directly (the CLI's
 * --key URI), so its pin-source is an instruction, not file content */
#define HSMKEY_PARAM_URI_DIRECT "hsmkey-uri-direct"

/*
 * Writes the PIN for token_label (at most cap bytes) into buf, *len its
 * length: 1, or 0 when there is none.  Called only when no configured
 * source gives a PIN.
 */
typedef int hsmkey_prompt_fill_fn(const char *token_label, unsigned char *buf,
                                  size_t cap, size_t *len, void *arg);

struct hsmkey_prompt_param {
    hsmkey_prompt_fill_fn *fill;
    void *arg;
};

#endif
