/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.c - picking the token a command works on, and its PIN: from
 * --pin-source or HSMKEY_PIN_SOURCE, else asked on the terminal without
 * echo (once per run), never from a plain argument.
 */
#include <ctype.h>
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

/* Asked twice: a PIN typed wrong once would lock the token out later. */
static struct hsmkey_pin *ask_new(const char *what, const char *label)
{
    char prompt[160];
    struct hsmkey_pin *pin, *again;
    int same;

    snprintf(prompt, sizeof(prompt), "New %s for token '%.64s': ", what,
             label);
    if ((pin = tool_ask_secret(prompt)) == NULL)
        return NULL;
    snprintf(prompt, sizeof(prompt), "Repeat the new %s for token '%.64s': ",
             what, label);
    if ((again = tool_ask_secret(prompt)) == NULL) {
        hsmkey_pin_free(pin);
        return NULL;
    }
    same = hsmkey_pin_len(pin) == hsmkey_pin_len(again)
           && CRYPTO_memcmp(hsmkey_pin_data(pin), hsmkey_pin_data(again),
                            hsmkey_pin_len(pin)) == 0;
    hsmkey_pin_free(again);
    if (!same) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "the two entries of the new %s "
                     "differ: nothing changed", what);
        hsmkey_pin_free(pin);
        return NULL;
    }
    return pin;
}

struct hsmkey_pin *tool_pin_get(const struct tool_ctx *ctx,
                                const char *source, const char *option,
                                const char *what, const char *label,
                                int is_new)
{
    char prompt[160];

    if (source != NULL)
        return hsmkey_pin_resolve(source);
    if (!ctx->interactive) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "%s: the %s: give --%s "
                     "file:PATH|env:VAR (there is no terminal to ask on)",
                     ctx->cmd, what, option);
        return NULL;
    }
    if (is_new)
        return ask_new(what, label);
    snprintf(prompt, sizeof(prompt), "%s for token '%.64s': ", what, label);
    prompt[0] = (char)toupper((unsigned char)prompt[0]);
    return tool_ask_secret(prompt);
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
