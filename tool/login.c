/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.c - picking the token a command works on, and its PIN: from
 * --pin-source or HSMKEY_PIN_SOURCE, else asked on the terminal without
 * echo (once per run), never from a plain argument.
 */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "tool.h"

struct hsmkey_token *tool_token(struct tool_ctx *ctx, const char *label)
{
    struct hsmkey_token **toks = NULL, *found = NULL;
    size_t n = 0, matches = 0;

    if (!hsmkey_core_tokens(ctx->core, NULL, &toks, &n))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(hsmkey_token_label(toks[i]), label) == 0) {
            found = toks[i];
            matches++;
        }
    }
    if (matches == 0)
        hsmkey_raise(HSMKEY_R_TOKEN_NOT_FOUND, "no token labelled '%s' "
                     "(module: %s; see hsmkey tokens)", label,
                     hsmkey_core_module_name(ctx->core));
    else if (matches > 1)
        hsmkey_raise(HSMKEY_R_AMBIGUOUS, "%zu tokens are labelled '%s'",
                     matches, label);
    OPENSSL_free(toks);
    return matches == 1 ? found : NULL;
}

int tool_pin_available(const struct tool_ctx *ctx)
{
    const char *env = secure_getenv("HSMKEY_PIN_SOURCE");

    return ctx->pin_source != NULL || (env != NULL && *env != '\0')
           || ctx->interactive;
}

int tool_login(struct tool_ctx *ctx, struct hsmkey_token *tok)
{
    if ((hsmkey_token_info(tok)->flags & CKF_LOGIN_REQUIRED)
        && !tool_pin_available(ctx)) {
        hsmkey_raise(HSMKEY_R_LOGIN, "token '%s' needs a PIN: give "
                     "--pin-source file:PATH|env:VAR or set "
                     "HSMKEY_PIN_SOURCE (a terminal is asked instead)",
                     hsmkey_token_label(tok));
        return 0;
    }
    /* The core resolves the PIN: its pin source (--pin-source), then
     * HSMKEY_PIN_SOURCE, then our prompt when stdin is a terminal. */
    return hsmkey_token_login(tok, NULL);
}

/* One line from the terminal with echo off; the buffer is the caller's. */
static int read_no_echo(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    int ok;

    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return 0;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    /* Echo off before the prompt shows: what is typed after seeing it is
     * never flushed (TCSAFLUSH drops only earlier type-ahead). */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return 0;
    fputs(prompt, stderr);
    fflush(stderr);
    ok = fgets(buf, (int)len, stdin) != NULL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    return ok;
}

struct hsmkey_pin *tool_ask_secret(const char *prompt)
{
    char buf[HSMKEY_PIN_MAX + 2];
    struct hsmkey_pin *pin = NULL;
    size_t n;

    /* Unbuffered: stdin's own buffer would keep a copy of the line. */
    setvbuf(stdin, NULL, _IONBF, 0);
    if (!read_no_echo(prompt, buf, sizeof(buf))) {
        hsmkey_raise(HSMKEY_R_LOGIN, "%snothing was entered", prompt);
        goto done;
    }
    n = strcspn(buf, "\r\n");
    if (n == 0)
        hsmkey_raise(HSMKEY_R_LOGIN, "%sthe answer is empty", prompt);
    else
        pin = hsmkey_pin_from_bytes(buf, n);
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    return pin;
}

static struct hsmkey_pin *ask(const char *label)
{
    char prompt[128];

    snprintf(prompt, sizeof(prompt), "PIN for token '%.64s': ", label);
    return tool_ask_secret(prompt);
}

struct hsmkey_pin *tool_pin_prompt(const char *token_label, void *arg)
{
    struct tool_ctx *ctx = arg;

    if (ctx->pin == NULL && (ctx->pin = ask(token_label)) == NULL)
        return NULL;
    return hsmkey_pin_from_bytes(hsmkey_pin_data(ctx->pin),
                                 hsmkey_pin_len(ctx->pin));
}

int tool_pin_fill(const char *token_label, unsigned char *buf, size_t cap,
                  size_t *len, void *arg)
{
    struct tool_ctx *ctx = arg;

    if (ctx->pin == NULL && (ctx->pin = ask(token_label)) == NULL)
        return 0;
    if (hsmkey_pin_len(ctx->pin) > cap) {
        hsmkey_raise(HSMKEY_R_PIN_SOURCE, "the PIN entered is longer than "
                     "%zu bytes", cap);
        return 0;
    }
    memcpy(buf, hsmkey_pin_data(ctx->pin), hsmkey_pin_len(ctx->pin));
    *len = hsmkey_pin_len(ctx->pin);
    return 1;
}
