/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_check.c - `hsmkey check`: gathers the certificate, the CA file and
 * the token key, runs the items of check.h in their order and prints one
 * line (or JSON object) per item.
 *
 * --no-login runs only what needs no PIN (see token_items_no_login).
 *
 * What happens when an input is bad:
 *  - an unreadable or malformed --cert or --ca: the items checked so far are
 *    printed (the failing one says what is wrong with the file), the same
 *    message goes to stderr, exit 2; nothing else can be judged without them;
 *  - a --key that is not a URI or key-reference file: exit 2 before any
 *    item runs;
 *  - a key the token cannot give (module, token, login, no such key): every
 *    item that needs only the files still runs and is printed, the key items
 *    FAIL with the reason, the errors go to stderr (and into the JSON),
 *    exit 3 (2 when it is the pin source that is unusable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "check.h"
#include "check_report.h"
#include "check_harperdb.h"
#include "commands.h"

const char cmd_check_help[] =
    "usage: hsmkey check --cert CERT.pem --ca CA.pem --key URI|REF.pem\n"
    "                    [--host FQDN|IP] [--warn-days N] [--no-login]\n"
    "       hsmkey check --harperdb CONFIG [--warn-days N]\n"
    "\n"
    "Check that a node certificate, its CA chain and its token key belong\n"
    "together and will work for mutual TLS.  One line per item:\n"
    "  PASS|WARN|FAIL <item>: <detail>\n"
    "Items, in this order:\n"
    "  cert            the certificate file parses (PEM, or one DER cert);\n"
    "                  certificates after the first are intermediates\n"
    "  chain           verifies to a root CA in --ca (intermediates from\n"
    "                  either file); a failure names the break in one line:\n"
    "                  --cert and --ca swapped, the chain file in reverse\n"
    "                  order, an issuer in neither file, an issuer with the\n"
    "                  right name but another key (AKI against SKI), a\n"
    "                  second certificate in --cert that did not issue the\n"
    "                  node's; below it, every certificate given (leaf,\n"
    "                  intermediate or root, subject, issuer, SKI, AKI)\n"
    "  key-match       the token key's public key is the certificate's\n"
    "  key-proof       the token signs a fresh challenge, the certificate's\n"
    "                  key verifies it\n"
    "  eku             serverAuth and clientAuth (to accept and to open\n"
    "                  connections)\n"
    "  key-usage       digitalSignature (and keyEncipherment for RSA); not a\n"
    "                  CA certificate (CA:TRUE fails)\n"
    "  validity        dates; WARN when fewer than --warn-days are left\n"
    "  host            only with --host: the SAN (or, without SAN DNS names,\n"
    "                  the CN) matches\n"
    "  key-protection  the token key is sensitive and not extractable\n"
    "\n"
    "With --json: {\"ok\": bool, \"items\": [{\"item\", \"status\",\n"
    "\"detail\", ...}, ...]}, the same items in the same order, with fields\n"
    "beside the detail: cert and validity carry not_before, not_after (ISO\n"
    "8601 UTC) and days_left (whole days, negative once expired); cert also\n"
    "subject, issuer, san (a list: \"DNS:..\", \"IP:..\"), ski, aki; chain\n"
    "carries chain (the verified path, leaf first: role, subject, issuer,\n"
    "ski, aki, not_after; null when it did not verify) and certificates\n"
    "(every certificate given, with file and index); host carries host and\n"
    "san.  \"skipped\" lists the items --no-login left out, \"errors\" the\n"
    "messages of a failure.  Any error, a usage error included, prints\n"
    "{\"ok\": false, \"exit_code\": N, \"errors\": [...]} when no items can.\n"
    "\n"
    "Options:\n"
    "  --cert FILE      the node certificate (and optionally intermediates)\n"
    "  --ca FILE        the CA certificate(s) the cluster trusts\n"
    "  --key URI|FILE   the token key: a pkcs11: URI or a key-reference file\n"
    "  --host NAME      a DNS name or IP address peers use to reach the node\n"
    "  --warn-days N    validity WARN threshold in days (default 30)\n"
    "  --no-login       for monitoring: no PIN is read and the token is never\n"
    "                   logged in to (its retry counter is never spent);\n"
    "                   key-match compares with the token's public key\n"
    "                   object, else its certificate object (WARN when it\n"
    "                   shows neither); key-proof and key-protection, which\n"
    "                   need the private key, are not run\n"
    "  --harperdb CONFIG  HarperDB's harperdb-config.yaml (or its ROOTPATH):\n"
    "                   the items above for each TLS section (tls,\n"
    "                   operationsApi.tls, clustering.tls; every entry of a\n"
    "                   list), named <section>.<item>, with key-file (a\n"
    "                   key-reference, not a software key); then\n"
    "                   replication.hostname (in a tls certificate's SAN, or\n"
    "                   HarperDB serves its own self-signed key there),\n"
    "                   harperdb.key-writable (HarperDB's user, the owner of\n"
    "                   CONFIG, cannot overwrite the key-reference file),\n"
    "                   <section>.insecure and <section>.verify\n"
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
    "  hsmkey check --cert node1.pem --ca ca.pem --key node1-key.pem \\\n"
    "      --no-login --json | jq '.items[] | select(.item == \"validity\")"
    " | .days_left'\n"
    "\n" TOOL_GLOBAL_HELP;

#define WARN_DAYS_DEFAULT 30
#define WARN_DAYS_MAX 36500

struct check_args {
    const char *cert, *ca, *key, *host, *warn_days, *harperdb;
    int no_login;
};

struct check_run {
    struct check_result res[CHECK_ITEM_MAX];
    int ran[CHECK_ITEM_MAX];
    struct check_inputs in;   /* the files; in.leaf is the node's */
    X509 *leaf;               /* in.leaf */
    STACK_OF(X509) *verified; /* the chain, when it verified */
    time_t now;
    int no_login;
    char **errors;            /* messages taken off the queue, for JSON */
    size_t nerrors;
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

/* The cert item again when the node certificate is not where it should
 * be: it describes the certificate the other items judge. */
static void describe_moved_leaf(struct check_run *run)
{
    char subj[256], issuer[256];

    check_set(&run->res[CHECK_CERT], CHECK_PASS, "subject '%s', issuer '%s' "
              "(the node certificate is #%d of %s: see chain)",
              check_name(X509_get_subject_name(run->leaf), subj,
                         sizeof(subj)),
              check_name(X509_get_issuer_name(run->leaf), issuer,
                         sizeof(issuer)),
              run->in.leaf_index,
              run->in.layout == CHECK_LAYOUT_SWAPPED ? "--ca" : "--cert");
}

/* cert and the CA file; 0 (with the failing item set and raised) when
 * either cannot be read, which is bad input. */
static int load_files(struct check_run *run, const struct check_args *a)
{
    struct check_result *r = item(run, CHECK_CERT);
    X509 *first = NULL;

    if (check_cert_load(a->cert, &first, &run->in.cert_file, r)) {
        /* The whole file, in order: the node certificate may be anywhere. */
        if (!sk_X509_unshift(run->in.cert_file, first)) {
            X509_free(first);
            hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
            return 0;
        }
        r = item(run, CHECK_CHAIN);
        if (check_ca_load(a->ca, &run->in.ca_file, r)) {
            if (!check_arrange(&run->in)) {
                hsmkey_raise(HSMKEY_R_INTERNAL, "out of memory");
                return 0;
            }
            run->leaf = run->in.leaf;
            if (run->in.layout != CHECK_LAYOUT_OK)
                describe_moved_leaf(run);
            run->ran[CHECK_CHAIN] = 0;
            return 1;
        }
    } else {
        X509_free(first);
    }
    hsmkey_raise(HSMKEY_R_BAD_INPUT, "check: %s%s", r->item == CHECK_CERT
                 ? "--cert " : "", r->detail);
    return 0;
}

static void chain_item(struct check_run *run)
{
    struct check_result *r = item(run, CHECK_CHAIN), arranged;

    memset(&arranged, 0, sizeof(arranged));
    check_chain_verified(run->leaf, run->in.extra, run->in.cas,
                         &run->verified, &arranged);
    if (run->in.layout == CHECK_LAYOUT_OK)
        *r = arranged;
    else
        check_layout_result(&run->in, &arranged, r);
}

static void file_items(struct check_run *run, const struct check_args *a,
                       int warn_days)
{
    chain_item(run);
    check_eku(run->leaf, item(run, CHECK_EKU));
    check_key_usage(run->leaf, item(run, CHECK_KEY_USAGE));
    check_validity(run->leaf, run->now, warn_days,
                   item(run, CHECK_VALIDITY));
    if (a->host != NULL)
        check_host(run->leaf, a->host, item(run, CHECK_HOST));
}

/*
 * The errors queued so far, reported here rather than by main: on stderr
 * as always, and kept for --json ("errors") and for the details of the
 * items they stop.  Returns the exit code of the first one's class.
 */
static int take_errors(struct check_run *run)
{
    return tool_errors_collect(stderr, &run->errors, &run->nerrors);
}

/*
 * The key items when the token gave no key: each FAILs with the first
 * message (the culprit; the framework drops library noise).  Returns the
 * exit code of its class: 3 for the token, 2 for e.g. a bad pin source.
 */
static int key_unreachable(struct check_run *run,
                           const enum check_item *items, size_t nitems)
{
    int rc = take_errors(run);
    const char *why = run->nerrors > 0 ? run->errors[0]
                                       : "see the messages above";

    for (size_t i = 0; i < nitems; i++)
        check_set(item(run, items[i]), CHECK_FAIL,
                  "the token key cannot be reached: %s", why);
    return rc;
}

static void key_items(struct tool_ctx *ctx, struct check_run *run,
                      struct hsmkey_object *obj, EVP_PKEY *key)
{
    /* The public half of the very key key-proof signs with (the provider
     * proved it against the private key); the key itself if it cannot be
     * exported. */
    EVP_PKEY *pub = tool_key_public(key);
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
    static const enum check_item all[] = {
        CHECK_KEY_MATCH, CHECK_KEY_PROOF, CHECK_KEY_PROTECTION
    };
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
        rc = key_unreachable(run, all, 3);
    EVP_PKEY_free(key);
    hsmkey_object_free(obj);
    return rc;
}

/*
 * --no-login: key-match against what the token shows without a PIN (the
 * public key object, else the certificate object, with the key's label or
 * id).  key-proof and key-protection need the private key: not run.
 */
static int token_items_no_login(struct tool_ctx *ctx, struct check_run *run,
                                const char *uri)
{
    static const enum check_item match[] = { CHECK_KEY_MATCH };
    struct check_result *r;
    EVP_PKEY *pub = NULL;
    char from[256];

    ERR_clear_error();
    if (!tool_token_public(ctx, uri, &pub, from, sizeof(from)))
        return key_unreachable(run, match, 1);
    r = item(run, CHECK_KEY_MATCH);
    if (pub == NULL) {
        check_set(r, CHECK_WARN, "not checked: without a login the token "
                  "shows no public key or certificate object for %s; run "
                  "check without --no-login", uri);
        return TOOL_EXIT_OK;
    }
    check_key_match(pub, run->leaf, r);
    check_append(r, " (compared with the token's %s, without a login)",
                 from);
    EVP_PKEY_free(pub);
    return TOOL_EXIT_OK;
}

static void print_text(const struct check_run *run)
{
    int i;

    for (i = 0; i < CHECK_ITEM_MAX; i++) {
        if (!run->ran[i])
            continue;
        printf("%s %s: %s\n", check_status_name(run->res[i].status),
               check_item_name(i), run->res[i].detail);
        /* What was given, so the break named above can be seen. */
        if (i == CHECK_CHAIN && run->res[i].status != CHECK_PASS
            && run->leaf != NULL)
            check_print_certificates(stdout, &run->in);
    }
}

static int print_json(const struct check_run *run, const char *host, int ok)
{
    struct tool_json *j = tool_json_new(stdout);
    struct check_facts f = { run->leaf, &run->in, run->verified, run->now,
                             host };
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
        check_json_fields(j, i, &f);
        tool_json_end_object(j);
    }
    tool_json_end_array(j);
    if (run->no_login) {
        tool_json_begin_array(j, "skipped");
        tool_json_string(j, NULL, check_item_name(CHECK_KEY_PROOF));
        tool_json_string(j, NULL, check_item_name(CHECK_KEY_PROTECTION));
        tool_json_end_array(j);
    }
    if (run->nerrors > 0)
        tool_json_errors(j, run->errors, run->nerrors);
    tool_json_end_object(j);
    return tool_json_finish(j);
}

/* Prints the items; TOOL_EXIT_CHECK_FAIL when any FAILed, else OK. */
static int report(struct tool_ctx *ctx, const struct check_run *run,
                  const char *host, int complete)
{
    int i, failed = !complete;

    for (i = 0; i < CHECK_ITEM_MAX; i++)
        failed |= run->ran[i] && run->res[i].status == CHECK_FAIL;
    if (ctx->json)
        print_json(run, host, !failed);
    else
        print_text(run);
    return failed ? TOOL_EXIT_CHECK_FAIL : TOOL_EXIT_OK;
}

static void run_free(struct check_run *run)
{
    check_inputs_release(&run->in);
    sk_X509_pop_free(run->in.cert_file, X509_free);
    sk_X509_pop_free(run->in.ca_file, X509_free);
    sk_X509_pop_free(run->verified, X509_free);
    tool_errors_free(run->errors, run->nerrors);
}

static int check_run(struct tool_ctx *ctx, const struct check_args *a,
                     int warn_days, const char *uri)
{
    struct check_run run;
    int rc, key_rc;

    memset(&run, 0, sizeof(run));
    run.now = time(NULL);
    run.no_login = a->no_login;
    if (!load_files(&run, a)) {
        /* Bad input (exit 2): the items so far say which file. */
        rc = take_errors(&run);
        report(ctx, &run, a->host, 0);
    } else {
        file_items(&run, a, warn_days);
        key_rc = a->no_login ? token_items_no_login(ctx, &run, uri)
                             : token_items(ctx, &run, uri, a->key);
        rc = report(ctx, &run, a->host, key_rc == TOOL_EXIT_OK);
        if (key_rc != TOOL_EXIT_OK)
            rc = key_rc;
    }
    run_free(&run);
    return rc;
}

int cmd_check(struct tool_ctx *ctx, int argc, char **argv)
{
    struct check_args a = { 0 };
    const struct tool_opt opts[] = {
        { "cert", &a.cert, NULL }, { "ca", &a.ca, NULL },
        { "key", &a.key, NULL },   { "host", &a.host, NULL },
        { "warn-days", &a.warn_days, NULL },
        { "no-login", NULL, &a.no_login },
        { "harperdb", &a.harperdb, NULL }, { NULL, NULL, NULL },
    };
    int warn_days, rc;
    char *uri;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts))
        return TOOL_EXIT_RAISED;
    if (a.harperdb != NULL)
        return parse_warn_days(a.warn_days, &warn_days)
                   ? check_harperdb(ctx, a.harperdb, warn_days)
                   : TOOL_EXIT_RAISED;
    if (!tool_opt_required(ctx->cmd, "cert", a.cert)
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
