/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool.h - what every hsmkey command shares: the context main.c sets up,
 * exit codes, option parsing, output, token and key helpers.
 *
 * A command is one file tool/cmd_<name>.c that defines
 *
 *     int cmd_<name>(struct tool_ctx *ctx, int argc, char **argv);
 *     const char cmd_<name>_help[];
 *
 * argv[0] is the command's name, the global options (--module, --pin-source,
 * --json, --help) are already taken out.  The handler returns a TOOL_EXIT_*
 * code, or TOOL_EXIT_RAISED after an error was raised with hsmkey_raise():
 * main.c then prints the queued errors ("hsmkey: <message>") and turns the
 * first one's reason class into exit code 2 or 3.  Handlers never print
 * errors themselves and never call exit().
 */
#ifndef HSMKEY_TOOL_H
#define HSMKEY_TOOL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

#include "hsmkey/err.h"
#include "hsmkey/p11.h"

/* The CLI's exit codes (README, "CLI exit codes"). */
enum tool_exit {
    TOOL_EXIT_RAISED = -1,   /* an error is queued: main maps it to 2 or 3 */
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_CHECK_FAIL = 1,/* `check` found at least one FAIL */
    TOOL_EXIT_USAGE = 2,     /* usage error, unreadable or malformed input */
    TOOL_EXIT_TOKEN = 3,     /* module, token, key or login */
};

/* What main.c sets up before a handler runs (struct tool_cmd.needs). */
#define TOOL_NEEDS_CORE 0x1     /* ctx->core: the PKCS#11 core (--module) */
#define TOOL_NEEDS_PROVIDER 0x2 /* ctx->libctx: default + hsmkey providers */

struct tool_ctx {
    const char *cmd;        /* the command's name, for messages */
    const char *module;     /* --module, else HSMKEY_PKCS11_MODULE; NULL:
                               every module registered with p11-kit */
    const char *init_args;  /* --module-init-args, else
                               HSMKEY_PKCS11_MODULE_INIT_ARGS; NULL */
    const char *pin_source; /* --pin-source, else HSMKEY_PIN_SOURCE; NULL;
                               made absolute into pin_abs by tool_setup */
    char pin_abs[PATH_MAX + 8];
    int json;               /* --json: machine-readable output on stdout */
    int interactive;        /* stdin is a terminal: a PIN may be asked */
    struct hsmkey_core *core; /* TOOL_NEEDS_CORE */
    OSSL_LIB_CTX *libctx;     /* TOOL_NEEDS_PROVIDER */
    struct hsmkey_pin *pin;   /* a PIN typed at the prompt, asked once */
};

/* The end of every --help text: the global options and the exit codes. */
#define TOOL_GLOBAL_HELP                                                      \
    "Global options (before or after the command):\n"                         \
    "  --module PATH       PKCS#11 module (else HSMKEY_PKCS11_MODULE, else\n"  \
    "                      every module registered with p11-kit)\n"            \
    "  --module-init-args ARGS  C_Initialize arguments of that module (else\n"\
    "                      HSMKEY_PKCS11_MODULE_INIT_ARGS); NSS softoken:\n"  \
    "                      \"configdir='sql:DIR' certPrefix='' keyPrefix=''\n"  \
    "                      secmod='secmod.db' flags=\"\n"                        \
    "  --pin-source SRC    file:PATH or env:VAR (else HSMKEY_PIN_SOURCE, else\n"\
    "                      asked without echo when stdin is a terminal)\n"     \
    "  --json              machine-readable output on stdout\n"                \
    "  --help              this text\n"                                        \
    "Exit codes: 0 success, 1 check found a FAIL, 2 usage error or bad\n"     \
    "input (bad URI, bad PEM, missing file), 3 token error (module, token,\n" \
    "key or login).\n"

typedef int tool_cmd_fn(struct tool_ctx *ctx, int argc, char **argv);

struct tool_cmd {
    const char *name;
    tool_cmd_fn *handler;
    int needs;           /* TOOL_NEEDS_* */
    const char *summary; /* one line for `hsmkey --help` */
    const char *help;    /* the full `hsmkey <name> --help` text */
};

/* ---- options (args.c) ---- */

/*
 * One command option: "--name VALUE" / "--name=VALUE" when value is set,
 * a flag ("--name") when flag is set.  The table ends with a NULL name.
 */
struct tool_opt {
    const char *name;   /* without the leading "--" */
    const char **value; /* receives the value (points into argv) */
    int *flag;          /* set to 1 when the flag is given */
};

/*
 * Parse argv[1..argc-1] against opts.  An unknown option, a missing value,
 * an option given twice or a stray argument raises HSMKEY_R_BAD_ARGUMENT
 * naming it ("keygen: unknown option --foo") and returns 0.
 */
int tool_opts_parse(const char *cmd, int argc, char **argv,
                    const struct tool_opt *opts);
/* 1 when value is set, else raise "<cmd>: --<name> is required". */
int tool_opt_required(const char *cmd, const char *name, const char *value);

/*
 * Hex ("0a1b2c", colons between bytes allowed) into out[*len]; *len is the
 * capacity on entry and the byte count on return.  Raises naming --name.
 */
int tool_parse_hex(const char *cmd, const char *name, const char *hex,
                   unsigned char *out, size_t *len);

/*
 * A "file:" source (PIN, passphrase) given on the command line with a
 * relative path, made absolute against the working directory; any other
 * source copied as it is.  0 + raised when it does not fit in out.
 */
int tool_source_absolute(const char *src, char *out, size_t len);

/*
 * The global options, wherever they appear (before "--"): they are taken
 * out of argv, the rest is moved up and *argc updated.  --module and
 * --pin-source need a value; --help/-h sets *help; --version sets *version.
 */
int tool_global_parse(struct tool_ctx *ctx, int *argc, char **argv,
                      int *help, int *version);

/* ---- output (output.c) ---- */

/* Escape s as a JSON string (with its quotes); invalid UTF-8 -> U+FFFD. */
void tool_json_escape(FILE *out, const char *s);

/* A streaming JSON writer: pretty-printed, commas and nesting handled.
 * key is NULL for array members and the top-level value. */
struct tool_json;
struct tool_json *tool_json_new(FILE *out);
void tool_json_begin_object(struct tool_json *j, const char *key);
void tool_json_end_object(struct tool_json *j);
void tool_json_begin_array(struct tool_json *j, const char *key);
void tool_json_end_array(struct tool_json *j);
void tool_json_string(struct tool_json *j, const char *key, const char *v);
void tool_json_bool(struct tool_json *j, const char *key, int v);
void tool_json_int(struct tool_json *j, const char *key, long long v);
void tool_json_null(struct tool_json *j, const char *key);
/* Final newline, frees j; 0 when the nesting was unbalanced or misused. */
int tool_json_finish(struct tool_json *j);

/*
 * A table of rows.  Text: aligned columns under the upper-case header, or
 * for a record "name: value" lines.  JSON: an array of objects, or for a
 * record one object, keyed by the lower-case column names.  A NULL value is
 * "-" in text and null in JSON; a BOOL column takes "yes"/"no" (JSON
 * true/false), an INT column a decimal number.
 */
enum tool_coltype { TOOL_COL_STR, TOOL_COL_BOOL, TOOL_COL_INT };
struct tool_column {
    const char *name; /* upper case, e.g. "LABEL" */
    enum tool_coltype type;
    int json_only;    /* a key of the JSON objects, not a text column */
};
struct tool_table;
struct tool_table *tool_table_new(const struct tool_column *cols,
                                  size_t ncols);
/* values[ncols], copied. */
int tool_table_add(struct tool_table *t, const char *const *values);
size_t tool_table_rows(const struct tool_table *t);
int tool_table_print(const struct tool_table *t, FILE *out, int json);
int tool_table_print_record(const struct tool_table *t, FILE *out, int json);
void tool_table_free(struct tool_table *t);

/* Hex of bytes into a new string ("" for none); OPENSSL_free. */
char *tool_hex(const unsigned char *data, size_t len);

/* ---- errors (errors.c) ---- */

/*
 * Print the queued errors as "hsmkey: <message>" on out, oldest first, and
 * clear the queue.  When hsmkey (the core in the CLI, or the provider) raised
 * any, only those are printed: OpenSSL's own entries are then noise of
 * libraries loaded into the process.  Never a PIN: no message carries one.
 * Returns the exit code of the first hsmkey error's reason class (2 or 3);
 * 2 when only OpenSSL errors were queued, 3 when none was.
 */
int tool_errors_report(FILE *out);
/*
 * The same, and the messages kept (without "hsmkey: ") for a JSON report:
 * *msgs holds *n strings, freed with tool_errors_free.
 */
int tool_errors_collect(FILE *out, char ***msgs, size_t *n);
void tool_errors_free(char **msgs, size_t n);
/* "errors": [messages] into an open JSON object. */
void tool_json_errors(struct tool_json *j, char **msgs, size_t n);
/*
 * Under --json: the messages on err as always, and on out the object
 * {"ok": false, "exit_code": N, "errors": [...]}, so a script that reads
 * stdout learns why (a usage error included).  Returns the exit code.
 */
int tool_errors_report_json(FILE *err, FILE *out);
/* 1 when the newest queued error is hsmkey's (it already named the
 * culprit: a caller adds no vaguer one on top). */
int tool_errors_ours_queued(void);
/* The exit code a reason's class maps to (the one mapping). */
int tool_exit_for_reason(int reason);
/* The OpenSSL error library code the CLI raises its errors with. */
int tool_err_lib(void);

/* ---- setup, tokens, keys (tool.c, key.c) ---- */

/* Create what cmd->needs asks for; 0 + raise on failure. */
int tool_setup(struct tool_ctx *ctx, int needs);
void tool_teardown(struct tool_ctx *ctx);

/* Absolute path of the hsmkey.so belonging to this binary (static). */
const char *tool_provider_path(void);

/* The one token labelled label (ctx->core); NULL + raise (exit 3). */
struct hsmkey_token *tool_token(struct tool_ctx *ctx, const char *label);
/* Log in to tok: --pin-source, HSMKEY_PIN_SOURCE, else a no-echo prompt
 * when stdin is a terminal, else an error naming the options. */
int tool_login(struct tool_ctx *ctx, struct hsmkey_token *tok);
/* 1 when a PIN can be had without failing (source set or a terminal). */
int tool_pin_available(const struct tool_ctx *ctx);
/*
 * The core's prompt (arg is the struct tool_ctx): asks once on the terminal
 * without echo, keeps the answer in ctx->pin and hands out copies.
 */
struct hsmkey_pin *tool_pin_prompt(const char *token_label, void *arg);
/* The same answer for the provider (hsmkey/prompt.h): copied from ctx->pin
 * into the provider's protected buffer. */
int tool_pin_fill(const char *token_label, unsigned char *buf, size_t cap,
                  size_t *len, void *arg);

/*
 * The URI a --key argument names: a pkcs11: URI (checked, a pin-value
 * refused) or the URI inside a key-reference file.  OPENSSL_free it.
 */
char *tool_key_uri(const char *arg);
/*
 * The one object of class cls that uri names (ctx->core), logging in for a
 * private key; NULL + raise: none (exit 3), several (exit 3).
 */
struct hsmkey_object *tool_find_one(struct tool_ctx *ctx, const char *uri,
                                    CK_OBJECT_CLASS cls);
/*
 * The public half of the key uri names, as the token shows it without a
 * login: its public key object (same label or id, whatever type= says),
 * else its certificate object.  *pub NULL when the token shows neither;
 * what describes where it came from ("public key object 'k' (id 01)").
 * 0 + raise when the token cannot be asked or the URI names several.
 */
int tool_token_public(struct tool_ctx *ctx, const char *uri, EVP_PKEY **pub,
                      char *what, size_t len);
/*
 * The token's private key as an EVP_PKEY of ctx->libctx: arg is a URI or a
 * key-reference file, decoded by the hsmkey provider's key-reference
 * decoder (never looked up as a file name); a key of any other provider is
 * refused.  A PIN typed at the prompt reaches the provider only through
 * tool_pin_fill.
 */
EVP_PKEY *tool_load_key(struct tool_ctx *ctx, const char *arg);
/* A token key's public half as a default-provider key; NULL + raised. */
EVP_PKEY *tool_key_public(const EVP_PKEY *key);
/*
 * Proof that key (on the token) holds the private half of pub: it signs a
 * fresh challenge that the default provider verifies with pub.  0 + raised,
 * naming shown.
 */
int tool_prove_key(struct tool_ctx *ctx, EVP_PKEY *key, EVP_PKEY *pub,
                   const char *shown);

/*
 * After keygen / import: write the key-reference file out (may be NULL),
 * print the key's URI (text) or {label, id, type, uri, keyref, replaced}
 * (--json), and a one-line account starting with verb on stderr.
 */
int tool_newkey_report(struct tool_ctx *ctx, const struct hsmkey_object *obj,
                       const char *verb, const char *out, size_t replaced);

/* Ask for a secret on the terminal without echo; NULL + raise. */
struct hsmkey_pin *tool_ask_secret(const char *prompt);

/*
 * A PIN for what ("SO PIN", "user PIN", "current user PIN") of token
 * label: read from source (file:PATH or env:VAR) when given, else asked on
 * the terminal without echo (a new one twice, and the two must match),
 * else an error naming --option.  Never from argv.
 */
struct hsmkey_pin *tool_pin_get(const struct tool_ctx *ctx,
                                const char *source, const char *option,
                                const char *what, const char *label,
                                int is_new);

/* ---- objects around a key (objects.c) ---- */

/* A set of found objects, each held by a reference; start zeroed. */
struct tool_objects {
    struct hsmkey_object **v;
    size_t n;
};

/*
 * Add to set the objects of class cls on token tok (that token only) whose
 * attribute type equals value; an object already in set is not added
 * twice.  Private keys log in.  0 + raise.
 */
int tool_objects_find(struct tool_ctx *ctx, struct hsmkey_token *tok,
                      CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE type,
                      const void *value, size_t len,
                      struct tool_objects *set);
int tool_objects_add(struct tool_objects *set, struct hsmkey_object *obj);
void tool_objects_free(struct tool_objects *set);
/* One line each: "  private key: token 'n1', object 'k' (id 01), ec P-256"
 * (a certificate also with its subject and end date). */
void tool_objects_describe(FILE *out, const struct tool_objects *set);

struct hsmkey_newkey;
/*
 * keygen/import --force: the keys of tok that nk's label or id would
 * replace (nk->id NULL: by label only), shown on stderr and confirmed
 * (tool_confirm).  1 when there are none, or it may go ahead.
 */
int tool_confirm_replace(struct tool_ctx *ctx, struct hsmkey_token *tok,
                         const struct hsmkey_newkey *nk, int yes);

/*
 * Before something that destroys: yes (--yes) goes ahead; on a terminal
 * the question is asked on stderr and "y" or "yes" goes ahead; otherwise,
 * or on any other answer, raise "<cmd>: nothing done ..." and return 0.
 */
int tool_confirm(const struct tool_ctx *ctx, int yes, const char *question);

/*
 * path was given as --key but holds no key reference: when it is an
 * on-disk private key or a certificate (PEM or DER), replace the queued
 * errors with one that says so and what to do.  Nothing when it is
 * neither.
 */
void tool_key_file_hint(const char *path);

/*
 * The URI a key-reference file keeps (portable.c): the token by label,
 * the key by label, id and type; serial, model, manufacturer, slot and
 * library attributes left out (listed in dropped, "" when none) so the
 * file survives a token replacement.  A URI without a token label is kept
 * as it is.  OPENSSL_free the result; NULL + raise.
 */
char *tool_portable_uri(const char *uri, char *dropped, size_t len);

/*
 * Write a key-reference file for uri (mode 0644, or the mode of the file
 * it replaces): written beside it and renamed over it, so a program that
 * reads it meanwhile sees the old file or the new one, never half.
 */
int tool_write_keyref(const char *path, const char *uri);

/* ---- output files (outfile.c) ---- */

/*
 * An output file that appears whole or not at all: written to a new file
 * beside path (O_EXCL|O_NOFOLLOW, mode less the umask) and renamed over
 * path once complete, so a link planted at path is replaced, never written
 * through, and a failure leaves path as it was.  NULL + raised.
 */
struct tool_out;
struct tool_out *tool_out_open(const char *path, int mode);
BIO *tool_out_bio(struct tool_out *out);
/*
 * ok: the caller's writes succeeded.  Then flushed, synced and renamed
 * over path; else (or when that fails) the new file is removed and the
 * failure raised naming path.  Frees out.
 */
int tool_out_close(struct tool_out *out, int ok);

#endif
