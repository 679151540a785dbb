/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check.c - `hsmkey check`: gathers the certificate, the CA file and
 * the token key, runs the items of check.h in their order and prints one
 * line (or JSON object) per item.
 *
 * What happens when an input is bad:
 *  - an unreadable or malformed --cert or --ca: the items checked so far are
 *    printed (the failing one says what is wrong with the file), the same
 *    message goes to stderr, exit 2; nothing else can be judged without them;
 *  - a --key that is not a URI or key-reference file: exit 2 before any
 *    item runs;
 *  - a key the token cannot give (module, token, login, no such key): every
 *    item that needs only the files still runs and is printed, the key items
 *    FAIL with the reason, the errors go to stderr, exit 3 (2 when it is
 *    the pin source that is unusable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "check.h"
#include "commands.h"

const char cmd_check_help[] =
    "usage: hsmkey check --cert CERT.pem --ca CA.pem --key URI|REF.pem\n"
    "                    [--host FQDN|IP] [--warn-days N]\n"
    "\n"
    "Check that a node certificate, its CA chain and its token key belong\n"
    "together and will work for mutual TLS.  One line per item:\n"
    "  PASS|WARN|FAIL <item>: <detail>\n"
    "Items, in this order:\n"
    "  cert            the certificate file parses (PEM, or one DER cert);\n"
    "                  certificates after the first are intermediates\n"
    "  chain           verifies to a root CA in --ca (intermediates from\n"
    "                  either file)\n"
    "  key-match       the token key's public key is the certificate's\n"
    "  key-proof       the token signs a fresh challenge, the certificate's\n"
    "                  key verifies it\n"
    "  eku             serverAuth and clientAuth (to accept and to open\n"
    "                  connections)\n"
    "  key-usage       digitalSignature; nothing a node should not have\n"
    "  validity        dates; WARN when fewer than --warn-days are left\n"
    "  host            only with --host: the SAN (or, without SAN DNS names,\n"
    "                  the CN) matches\n"
    "  key-protection  the token key is sensitive and not extractable\n"
    "With --json: {\"ok\": bool, \"items\": [{\"item\", \"status\",\n"
    "\"detail\"}, ...]}, the same items in the same order.\n"
    "\n"
    "Options:\n"
    "  --cert FILE      the node certificate (and optionally intermediates)\n"
    "  --ca FILE        the CA certificate(s) the cluster trusts\n"
    "  --key URI|FILE   the token key: a pkcs11: URI or a key-reference file\n"
    "  --host NAME      a DNS name or IP address peers use to reach the node\n"
    "  --warn-days N    validity WARN threshold in days (default 30)\n"
    "\n"
    "Exit codes: 0 no FAIL (WARNs allowed), 1 at least one FAIL, 2 an\n"
    "unreadable or malformed --cert, --ca or --key argument, 3 the token key\n"
    "cannot be reached (the file-only items are still printed).\n"
    "\n"
    "Examples:\n"
    "  hsmkey check --cert node1.pem --ca cluster-ca.pem \\\n"
    "      --key 'pkcs11:token=node1;object=node-key;type=private'\n"
    "  hsmkey check --cert node1.pem --ca ca.pem --key node1-key.pem \\\n"
    "      --host node1.example.com --warn-days 14 --json\n"
    "\n" TOOL_GLOBAL_HELP;

#define WARN_DAYS_DEFAULT 30
#define WARN_DAYS_MAX 36500

struct check_args {
    const char *cert, *ca, *key, *host, *warn_days;
};

struct check_run {
    struct check_result res[CHECK_ITEM_MAX];
    int ran[CHECK_ITEM_MAX];
    X509 *leaf;
    STACK_OF(X509) *extra, *cas;
};

static struct check_result *item(struct check_run *run, enum check_item i)
{
    run->ran[i] = 1;
    run->res[i].item = i;
    return &run->res[i];
}

static int parse_warn_days(const char *text, int *out)
{
    char *end = NULL;
    long v;

    *out = WARN_DAYS_DEFAULT;
    if (text == NULL)
        return 1;
    v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 0 || v > WARN_DAYS_MAX) {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "check: --warn-days '%s': not a "
                     "number of days from 0 to %d", text, WARN_DAYS_MAX);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* cert and the CA file; 0 (with the failing item set and raised) when
 * either cannot be read, which is bad input. */
static int load_files(struct check_run *run, const struct check_args *a)
{
    struct check_result *r = item(run, CHECK_CERT);

    if (check_cert_load(a->cert, &run->leaf, &run->extra, r)) {
        r = item(run, CHECK_CHAIN);
        if (check_ca_load(a->ca, &run->cas, r))
            return 1;
    }
    hsmkey_raise(HSMKEY_R_BAD_INPUT, "check: %s%s", r->item == CHECK_CERT
                 ? "--cert " : "", r->detail);
    return 0;
}

static void file_items(struct check_run *run, const struct check_args *a,
                       int warn_days)
{
    check_chain(run->leaf, run->extra, run->cas, item(run, CHECK_CHAIN));
    check_eku(run->leaf, item(run, CHECK_EKU));
    check_key_usage(run->leaf, item(run, CHECK_KEY_USAGE));
    check_validity(run->leaf, time(NULL), warn_days,
                   item(run, CHECK_VALIDITY));
    if (a->host != NULL)
        check_host(run->leaf, a->host, item(run, CHECK_HOST));
}

/*
 * The key items when the token gave no key.  The queued errors are reported
 * here rather than by main, so that the first message (the culprit; the
 * framework drops library noise) is also the items' detail.  Returns the
 * exit code of its class: 3 for the token, 2 for e.g. a bad pin source.
 */
static int key_unreachable(struct check_run *run)
{
    static const enum check_item key_items[] = {
        CHECK_KEY_MATCH, CHECK_KEY_PROOF, CHECK_KEY_PROTECTION
    };
    char *text = NULL, why[CHECK_DETAIL_MAX / 2] = "see the messages above";
    size_t len = 0, i;
    FILE *mem = open_memstream(&text, &len);
    int rc = mem != NULL ? tool_errors_report(mem) : TOOL_EXIT_TOKEN;

    if (mem != NULL && fclose(mem) == 0 && text != NULL) {
        fputs(text, stderr);
        if (strncmp(text, "hsmkey: ", 8) == 0)
            snprintf(why, sizeof(why), "%.*s", (int)strcspn(text + 8, "\n"),
                     text + 8);
    }
    free(text);
    for (i = 0; i < sizeof(key_items) / sizeof(key_items[0]); i++)
        check_set(item(run, key_items[i]), CHECK_FAIL,
                  "the token key cannot be reached: %s", why);
    return rc;
}

static void key_items(struct tool_ctx *ctx, struct check_run *run,
                      struct hsmkey_object *obj, EVP_PKEY *key)
{
    /* The token's own public key object, read without the provider; the
     * provider's key when the token has none to give. */
    EVP_PKEY *pub = hsmkey_object_public_key(obj, NULL, NULL);
    struct check_key_flags f = {
        hsmkey_object_flag(obj, CKA_SENSITIVE, 0),
        hsmkey_object_flag(obj, CKA_EXTRACTABLE, 1),
        hsmkey_object_flag(obj, CKA_ALWAYS_SENSITIVE, 0),
        hsmkey_object_flag(obj, CKA_NEVER_EXTRACTABLE, 0),
    };

    ERR_clear_error();
    check_key_match(pub != NULL ? pub : key, run->leaf,
                    item(run, CHECK_KEY_MATCH));
    check_key_proof(key, ctx->libctx, NULL, run->leaf,
                    item(run, CHECK_KEY_PROOF));
    check_key_protection(&f, item(run, CHECK_KEY_PROTECTION));
    EVP_PKEY_free(pub);
}

/* TOOL_EXIT_OK when the key was reached and its items ran, else the exit
 * code for why not (its errors already on stderr). */
static int token_items(struct tool_ctx *ctx, struct check_run *run,
                       const char *uri, const char *key_arg)
{
    struct hsmkey_object *obj;
    EVP_PKEY *key = NULL;
    int rc = TOOL_EXIT_OK;

    ERR_clear_error(); /* only what the token says below is reported */
    obj = tool_find_one(ctx, uri, CKO_PRIVATE_KEY);
    if (obj != NULL)
        key = tool_load_key(ctx, key_arg);
    if (key != NULL)
        key_items(ctx, run, obj, key);
    else
        rc = key_unreachable(run);
    EVP_PKEY_free(key);
    hsmkey_object_free(obj);
    return rc;
}

static void print_text(const struct check_run *run)
{
    int i;

    for (i = 0; i < CHECK_ITEM_MAX; i++)
        if (run->ran[i])
            printf("%s %s: %s\n", check_status_name(run->res[i].status),
                   check_item_name(i), run->res[i].detail);
}

static int print_json(const struct check_run *run, int ok)
{
    struct tool_json *j = tool_json_new(stdout);
    int i;

    if (j == NULL)
        return 0;
    tool_json_begin_object(j, NULL);
    tool_json_bool(j, "ok", ok);
    tool_json_begin_array(j, "items");
    for (i = 0; i < CHECK_ITEM_MAX; i++) {
        if (!run->ran[i])
            continue;
        tool_json_begin_object(j, NULL);
        tool_json_string(j, "item", check_item_name(i));
        tool_json_string(j, "status", check_status_name(run->res[i].status));
        tool_json_string(j, "detail", run->res[i].detail);
        tool_json_end_object(j);
    }
    tool_json_end_array(j);
    tool_json_end_object(j);
    return tool_json_finish(j);
}

/* Prints the items; TOOL_EXIT_CHECK_FAIL when any FAILed, else OK. */
static int report(struct tool_ctx *ctx, const struct check_run *run,
                  int complete)
{
    int i, failed = !complete;

    for (i = 0; i < CHECK_ITEM_MAX; i++)
        failed |= run->ran[i] && run->res[i].status == CHECK_FAIL;
    if (ctx->json)
        print_json(run, !failed);
    else
        print_text(run);
    return failed ? TOOL_EXIT_CHECK_FAIL : TOOL_EXIT_OK;
}

static int check_run(struct tool_ctx *ctx, const struct check_args *a,
                     int warn_days, const char *uri)
{
    struct check_run run;
    int rc, key_rc;

    memset(&run, 0, sizeof(run));
    if (!load_files(&run, a)) {
        report(ctx, &run, 0);
        rc = TOOL_EXIT_RAISED;
    } else {
        file_items(&run, a, warn_days);
        key_rc = token_items(ctx, &run, uri, a->key);
        rc = report(ctx, &run, key_rc == TOOL_EXIT_OK);
        if (key_rc != TOOL_EXIT_OK)
            rc = key_rc;
    }
    X509_free(run.leaf);
    sk_X509_pop_free(run.extra, X509_free);
    sk_X509_pop_free(run.cas, X509_free);
    return rc;
}

int cmd_check(struct tool_ctx *ctx, int argc, char **argv)
{
    struct check_args a = { 0 };
    const struct tool_opt opts[] = {
        { "cert", &a.cert, NULL }, { "ca", &a.ca, NULL },
        { "key", &a.key, NULL },   { "host", &a.host, NULL },
        { "warn-days", &a.warn_days, NULL }, { NULL, NULL, NULL },
    };
    int warn_days, rc;
    char *uri;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "cert", a.cert)
        || !tool_opt_required(ctx->cmd, "ca", a.ca)
        || !tool_opt_required(ctx->cmd, "key", a.key)
        || !parse_warn_days(a.warn_days, &warn_days))
        return TOOL_EXIT_RAISED;
    if (a.host != NULL && *a.host == '\0') {
        hsmkey_raise(HSMKEY_R_BAD_ARGUMENT, "check: --host is empty");
        return TOOL_EXIT_RAISED;
    }
    /* A malformed --key is bad input: nothing is checked or printed. */
    if ((uri = tool_key_uri(a.key)) == NULL)
        return TOOL_EXIT_RAISED;
    rc = check_run(ctx, &a, warn_days, uri);
    OPENSSL_free(uri);
    return rc;
}
