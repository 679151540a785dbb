/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_harperdb.c - `hsmkey check --harperdb CONFIG`.
 *
 * HarperDB 4.x reads its TLS files from harperdb-config.yaml: `tls` and
 * `operationsApi.tls` (a mapping, or a list of them), `clustering.tls` in
 * the NATS clustering of older versions; replication uses the `tls`
 * certificates for the node named by `replication.hostname`.  Each section
 * gets the items of `check`, named "<section>.<item>" (cert, chain against
 * the certificateAuthority file alone, key-match, key-proof, eku, key-usage,
 * validity, key-protection) plus key-file.  Then what HarperDB itself does
 * with them, each a trap seen with HarperDB 4.7:
 *  - replication.hostname: HarperDB keys certificates by the names in their
 *    SAN; without one for its node name it makes a self-signed certificate
 *    with its own software key and prefers it for replication;
 *  - harperdb.key-writable: when HarperDB cannot parse its TLS key (a
 *    key-reference file is no PEM key to node-forge) and has lost its own CA
 *    key, it generates a software key and writes it over that file;
 *  - <section>.insecure, <section>.verify: TLS without peer verification.
 * The user HarperDB runs as is the owner of the configuration file, which
 * HarperDB writes itself.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "check_harperdb.h"
#include "hsmkey/keyref.h"
#include "yaml_doc.h"

#define HDB_CONFIG_FILE "harperdb-config.yaml"
#define HDB_ITEMS_MAX 256
#define HDB_NAME_MAX 96
#define HDB_TLS_MAX 8 /* `tls` certificates kept for the hostname item */

struct hdb_item {
    char name[HDB_NAME_MAX];
    struct check_result res;
};

struct hdb_run {
    struct tool_ctx *ctx;
    struct tool_yaml *y;
    char *conf;          /* the configuration file */
    struct stat conf_st; /* its owner is the user HarperDB runs as */
    int warn_days;
    int token_rc;        /* TOOL_EXIT_OK, or why a token key was unreachable */
    struct hdb_item items[HDB_ITEMS_MAX];
    size_t n;
    X509 *tls_leaf[HDB_TLS_MAX];
    char *tls_cert[HDB_TLS_MAX];
    size_t n_tls;
};

/* The TLS sections HarperDB reads, in the order they are reported. */
static const struct {
    const char *key;
    int keeps_leaf; /* its certificates serve replication */
} hdb_sections[] = {
    { "tls", 1 },
    { "operationsApi.tls", 0 },
    { "replication", 1 },
    { "clustering.tls", 0 },
};

static struct check_result *add(struct hdb_run *run, const char *prefix,
                                const char *item)
{
    static struct hdb_item overflow; /* items past the table are dropped */
    struct hdb_item *it = run->n < HDB_ITEMS_MAX ? &run->items[run->n++]
                                                 : &overflow;

    snprintf(it->name, sizeof(it->name), "%s.%s", prefix, item);
    memset(&it->res, 0, sizeof(it->res));
    return &it->res;
}

/* A path from the configuration: relative ones are the config dir's. */
static char *conf_path(const struct hdb_run *run, const char *p)
{
    const char *slash = strrchr(run->conf, '/');
    char *out;
    size_t dl;

    if (p[0] == '/' || slash == NULL)
        return OPENSSL_strdup(p);
    dl = (size_t)(slash - run->conf);
    out = OPENSSL_malloc(dl + strlen(p) + 2);
    if (out != NULL)
        sprintf(out, "%.*s/%s", (int)dl, run->conf, p);
    return out;
}

enum key_kind { KEY_UNREADABLE, KEY_REFERENCE, KEY_PLAIN, KEY_OTHER };

/* What the privateKey file holds, from its PEM labels. */
static enum key_kind key_kind(const char *path, char *label, size_t len)
{
    BIO *in = BIO_new_file(path, "r");
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen;
    enum key_kind kind = KEY_OTHER;

    if (in == NULL)
        return KEY_UNREADABLE;
    while (kind == KEY_OTHER
           && PEM_read_bio(in, &name, &header, &data, &dlen) == 1) {
        snprintf(label, len, "%s", name);
        if (strcmp(name, HSMKEY_KEYREF_PEM_LABEL) == 0)
            kind = KEY_REFERENCE;
        else if (strstr(name, "PRIVATE KEY") != NULL)
            kind = KEY_PLAIN;
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    ERR_clear_error();
    BIO_free(in);
    return kind;
}

static enum key_kind key_file_item(struct hdb_run *run, const char *prefix,
                                   const char *path)
{
    struct check_result *r = add(run, prefix, "key-file");
    char label[80] = "";
    enum key_kind kind = key_kind(path, label, sizeof(label));

    switch (kind) {
    case KEY_REFERENCE:
        check_set(r, CHECK_PASS, "%s is a key-reference file: the key stays "
                  "on the token", path);
        break;
    case KEY_PLAIN:
        check_set(r, CHECK_FAIL, "%s holds a software private key (%s), not "
                  "a key-reference file: the key is not on a token (write "
                  "one with hsmkey keyref, or hsmkey import the key first)",
                  path, label);
        break;
    case KEY_UNREADABLE:
        check_set(r, CHECK_FAIL, "cannot read %s: %s", path, strerror(errno));
        break;
    case KEY_OTHER:
        check_set(r, CHECK_FAIL, "%s holds no private key or key "
                  "reference%s%s", path, *label ? "; PEM label " : "", label);
        break;
    }
    return kind;
}

/* The token items of one section; a key the token cannot give fails them
 * with the reason (also on stderr) and sets run->token_rc. */
static void key_items(struct hdb_run *run, const char *prefix,
                      const char *keyfile, X509 *leaf)
{
    struct check_result *m = add(run, prefix, "key-match");
    struct check_result *p = add(run, prefix, "key-proof");
    struct check_result *k = add(run, prefix, "key-protection");
    char *uri = tool_key_uri(keyfile), *text = NULL;
    struct hsmkey_object *obj = NULL;
    EVP_PKEY *key = NULL, *pub;
    size_t len = 0;
    FILE *mem;

    ERR_clear_error();
    if (uri != NULL && (obj = tool_find_one(run->ctx, uri, CKO_PRIVATE_KEY))
        != NULL)
        key = tool_load_key(run->ctx, keyfile);
    if (key != NULL) {
        struct check_key_flags f = {
            hsmkey_object_flag(obj, CKA_SENSITIVE, 0),
            hsmkey_object_flag(obj, CKA_EXTRACTABLE, 1),
            hsmkey_object_flag(obj, CKA_ALWAYS_SENSITIVE, 0),
            hsmkey_object_flag(obj, CKA_NEVER_EXTRACTABLE, 0),
        };

        pub = hsmkey_object_public_key(obj, NULL, NULL);
        ERR_clear_error();
        check_key_match(pub != NULL ? pub : key, leaf, m);
        check_key_proof(key, run->ctx->libctx, NULL, leaf, p);
        check_key_protection(&f, k);
        EVP_PKEY_free(pub);
    } else {
        int rc = (mem = open_memstream(&text, &len)) != NULL
                     ? tool_errors_report(mem) : TOOL_EXIT_TOKEN;

        if (mem != NULL && fclose(mem) == 0 && text != NULL)
            fputs(text, stderr);
        if (run->token_rc == TOOL_EXIT_OK)
            run->token_rc = rc;
        check_set(m, CHECK_FAIL, "the token key of %s cannot be reached: %.*s",
                  keyfile, text != NULL ? (int)strcspn(text, "\n") : 0,
                  text != NULL ? text : "");
        check_set(p, CHECK_FAIL, "%s", m->detail);
        check_set(k, CHECK_FAIL, "%s", m->detail);
    }
    free(text);
    EVP_PKEY_free(key);
    hsmkey_object_free(obj);
    OPENSSL_free(uri);
}

/* chain against the certificateAuthority file alone: HarperDB gives its
 * peers that file, and sends it after the certificate. */
static void ca_items(struct hdb_run *run, const char *prefix, X509 *leaf,
                     const char *ca)
{
    struct check_result *r = add(run, prefix, "chain");
    STACK_OF(X509) *cas = NULL;

    if (ca == NULL) {
        check_set(r, CHECK_FAIL, "%s has no certificateAuthority: peers "
                  "verify with it, and HarperDB sends it as the chain (the "
                  "intermediates, then the root)", prefix);
        return;
    }
    if (check_ca_load(ca, &cas, r)) {
        check_chain(leaf, NULL, cas, r);
        if (r->status == CHECK_FAIL)
            check_append(r, " (HarperDB needs every intermediate in the "
                         "certificateAuthority file %s)", ca);
        else if (sk_X509_num(cas) > 0
                 && X509_check_issued(sk_X509_value(cas, 0), leaf)
                        != X509_V_OK)
            check_set(r, CHECK_WARN, "%s; but the first certificate of %s "
                      "did not issue it: HarperDB sends the file after the "
                      "certificate only when it did (put the issuing "
                      "intermediate first)", r->detail, ca);
    }
    sk_X509_pop_free(cas, X509_free);
}

/* insecure (NATS clustering TLS of HarperDB < 4.4) and verify. */
static void verify_items(struct hdb_run *run, const char *prefix,
                         yaml_node_t *sec, X509 *leaf)
{
    int insecure = tool_yaml_bool(tool_yaml_get(run->y, sec, "insecure"));
    int verify = tool_yaml_bool(tool_yaml_get(run->y, sec, "verify"));
    const char *node = tool_yaml_text(tool_yaml_get(
        run->y, tool_yaml_root(run->y), "clustering.nodeName"));
    struct check_result names;

    if (insecure == 1) {
        memset(&names, 0, sizeof(names));
        if (leaf != NULL && node != NULL)
            check_host(leaf, node, &names);
        if (leaf != NULL && node != NULL && names.status == CHECK_PASS)
            check_set(add(run, prefix, "insecure"), CHECK_WARN,
                      "insecure: true, though the certificate's names match "
                      "node %s: set insecure: false so peers are verified",
                      node);
        else
            check_set(add(run, prefix, "insecure"), CHECK_FAIL,
                      "insecure: true: peers' certificates are not verified; "
                      "give the certificate the node's name in its SAN, then "
                      "set insecure: false");
    }
    if (verify == 0)
        check_set(add(run, prefix, "verify"), CHECK_FAIL, "verify: false: "
                  "peers need no certificate, so this is not mutual TLS");
}

static void keep_leaf(struct hdb_run *run, X509 *leaf, const char *cert)
{
    if (run->n_tls < HDB_TLS_MAX && X509_up_ref(leaf)) {
        run->tls_leaf[run->n_tls] = leaf;
        run->tls_cert[run->n_tls++] = OPENSSL_strdup(cert);
    }
}

static void section(struct hdb_run *run, const char *prefix, yaml_node_t *sec,
                    int keeps_leaf)
{
    const char *c = tool_yaml_text(tool_yaml_get(run->y, sec, "certificate"));
    const char *k = tool_yaml_text(tool_yaml_get(run->y, sec, "privateKey"));
    const char *a = tool_yaml_text(tool_yaml_get(run->y, sec,
                                                 "certificateAuthority"));
    char *cert = c ? conf_path(run, c) : NULL, *key = k ? conf_path(run, k)
                                                         : NULL;
    char *ca = a ? conf_path(run, a) : NULL;
    X509 *leaf = NULL;
    STACK_OF(X509) *extra = NULL;
    enum key_kind kind = KEY_OTHER;

    if (key != NULL)
        kind = key_file_item(run, prefix, key);
    else
        check_set(add(run, prefix, "key-file"), CHECK_FAIL, "%s has no "
                  "privateKey: HarperDB uses a software key of its own", prefix);
    if (cert == NULL)
        check_set(add(run, prefix, "cert"), CHECK_FAIL, "%s has no "
                  "certificate: HarperDB serves a self-signed one of its own",
                  prefix);
    else if (check_cert_load(cert, &leaf, &extra, add(run, prefix, "cert"))) {
        ca_items(run, prefix, leaf, ca);
        if (kind == KEY_REFERENCE)
            key_items(run, prefix, key, leaf);
        check_eku(leaf, add(run, prefix, "eku"));
        check_key_usage(leaf, add(run, prefix, "key-usage"));
        check_validity(leaf, time(NULL), run->warn_days,
                       add(run, prefix, "validity"));
        if (keeps_leaf)
            keep_leaf(run, leaf, cert);
    }
    verify_items(run, prefix, sec, leaf);
    ERR_clear_error();
    X509_free(leaf);
    sk_X509_pop_free(extra, X509_free);
    OPENSSL_free(cert);
    OPENSSL_free(key);
    OPENSSL_free(ca);
}

/* Each section, and each entry of a section that is a list. */
static void sections(struct hdb_run *run)
{
    char prefix[HDB_NAME_MAX];
    yaml_node_t *sec;
    size_t i, j, n;

    for (i = 0; i < sizeof(hdb_sections) / sizeof(hdb_sections[0]); i++) {
        sec = tool_yaml_get(run->y, tool_yaml_root(run->y),
                            hdb_sections[i].key);
        /* `replication` is a TLS section only where it names files */
        if (sec == NULL || (strcmp(hdb_sections[i].key, "replication") == 0
                            && tool_yaml_get(run->y, sec, "certificate") == NULL
                            && tool_yaml_get(run->y, sec, "privateKey") == NULL))
            continue;
        if ((n = tool_yaml_count(run->y, sec)) == 0) {
            if (sec->type == YAML_MAPPING_NODE)
                section(run, hdb_sections[i].key, sec,
                        hdb_sections[i].keeps_leaf);
            continue;
        }
        for (j = 0; j < n; j++) {
            snprintf(prefix, sizeof(prefix), "%s[%zu]", hdb_sections[i].key, j);
            section(run, prefix, tool_yaml_item(run->y, sec, j),
                    hdb_sections[i].keeps_leaf);
        }
    }
}

/* replication.hostname among the SAN names of a `tls` certificate. */
static void hostname_item(struct hdb_run *run)
{
    yaml_node_t *root = tool_yaml_root(run->y);
    const char *host = tool_yaml_text(tool_yaml_get(run->y, root,
                                                    "replication.hostname"));
    struct check_result *r = add(run, "replication", "hostname");
    struct check_result tmp;
    size_t i;

    if (host == NULL) {
        check_set(r, CHECK_WARN, "replication.hostname is not set: HarperDB names the node "
                  "after its replication url or host; set it to a name in "
                  "the certificate's SAN");
        return;
    }
    for (i = 0; i < run->n_tls; i++) {
        memset(&tmp, 0, sizeof(tmp));
        check_host(run->tls_leaf[i], host, &tmp);
        if (tmp.status == CHECK_PASS) {
            check_set(r, CHECK_PASS, "%s is in the SAN of %s: replication "
                      "uses it", host, run->tls_cert[i]);
            return;
        }
    }
    check_set(r, CHECK_FAIL, "replication.hostname %s is not in the SAN of "
              "%s: HarperDB then makes a self-signed certificate with a "
              "software key of its own for %s and serves it on the "
              "replication port instead of the token's; put %s in the "
              "certificate's SAN, or set replication.hostname to a name it "
              "has", host, run->n_tls > 0 ? run->tls_cert[0] : "any `tls` "
              "certificate", host, host);
}

/* Whether uid (with its groups) may write a file of mode/owner st. */
static int user_may_write(uid_t uid, const struct stat *st)
{
    struct passwd *pw = getpwuid(uid);
    gid_t groups[64];
    int n = 64, i;

    if (uid == 0 || (st->st_uid == uid && (st->st_mode & S_IWUSR))
        || (st->st_mode & S_IWOTH))
        return 1;
    if (!(st->st_mode & S_IWGRP))
        return 0;
    if (pw == NULL)
        return 1; /* unknown groups: assume the worst */
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
        return 1;
    for (i = 0; i < n; i++)
        if (groups[i] == st->st_gid)
            return 1;
    return 0;
}

/* The file's directory cannot be written by HarperDB's user either. */
static int dir_safe(const struct hdb_run *run, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? OPENSSL_strdup(".")
                : OPENSSL_strndup(path, slash == path ? 1
                                                      : (size_t)(slash - path));
    struct stat st;
    int safe = dir != NULL && stat(dir, &st) == 0
               && !user_may_write(run->conf_st.st_uid, &st);

    OPENSSL_free(dir);
    return safe;
}

static void writable_item(struct hdb_run *run, const char *path)
{
    struct check_result *r = add(run, "harperdb", "key-writable");
    struct passwd *pw = getpwuid(run->conf_st.st_uid);
    char user[64];
    struct stat st;

    snprintf(user, sizeof(user), "%s (uid %lu)", pw ? pw->pw_name : "?",
             (unsigned long)run->conf_st.st_uid);
    if (stat(path, &st) != 0) {
        check_set(r, CHECK_FAIL, "cannot stat %s: %s", path, strerror(errno));
    } else if (user_may_write(run->conf_st.st_uid, &st)) {
        check_set(r, CHECK_FAIL, "%s can be written by %s, the user HarperDB "
                  "runs as (owner of %s): when HarperDB cannot parse its TLS "
                  "key and has lost its own CA key, it overwrites this file "
                  "with a software key it generates; make it root's, mode "
                  "0640, group HarperDB's", path, user, run->conf);
    } else if (st.st_uid == run->conf_st.st_uid) {
        check_set(r, CHECK_WARN, "%s belongs to %s, the user HarperDB runs "
                  "as, who can make it writable again; make it root's, mode "
                  "0640, group HarperDB's", path, user);
    } else if (!dir_safe(run, path)) {
        check_set(r, CHECK_WARN, "%s cannot be written by %s, the user "
                  "HarperDB runs as, but its directory can: remove_certificate "
                  "of the certificate that names it deletes the file; keep it "
                  "in a directory of root's", path, user);
    } else {
        check_set(r, CHECK_PASS, "%s cannot be written by %s, the user "
                  "HarperDB runs as, nor removed from its directory", path,
                  user);
    }
}

/* Each distinct key-reference file the sections name. */
static void writable_items(struct hdb_run *run)
{
    char *seen[HDB_ITEMS_MAX];
    size_t n = 0, i, j;
    char label[80];

    for (i = 0; i < sizeof(hdb_sections) / sizeof(hdb_sections[0]); i++) {
        yaml_node_t *sec = tool_yaml_get(run->y, tool_yaml_root(run->y),
                                         hdb_sections[i].key);
        size_t cnt = tool_yaml_count(run->y, sec);

        for (j = 0; j < (cnt ? cnt : 1) && n < HDB_ITEMS_MAX; j++) {
            yaml_node_t *s = cnt ? tool_yaml_item(run->y, sec, j) : sec;
            const char *k = tool_yaml_text(tool_yaml_get(run->y, s,
                                                         "privateKey"));
            char *p = k != NULL ? conf_path(run, k) : NULL;
            size_t m;

            for (m = 0; p != NULL && m < n && strcmp(seen[m], p) != 0; m++)
                ;
            if (p != NULL && m == n
                && key_kind(p, label, sizeof(label)) == KEY_REFERENCE) {
                writable_item(run, p);
                seen[n++] = p;
            } else {
                OPENSSL_free(p);
            }
        }
    }
    for (i = 0; i < n; i++)
        OPENSSL_free(seen[i]);
}

static int report(const struct hdb_run *run)
{
    struct tool_json *j = NULL;
    int failed = 0;
    size_t i;

    for (i = 0; i < run->n; i++)
        failed |= run->items[i].res.status == CHECK_FAIL;
    if (run->ctx->json && (j = tool_json_new(stdout)) != NULL) {
        tool_json_begin_object(j, NULL);
        tool_json_bool(j, "ok", !failed && run->token_rc == TOOL_EXIT_OK);
        tool_json_begin_array(j, "items");
    }
    for (i = 0; i < run->n; i++) {
        const struct hdb_item *it = &run->items[i];

        if (j != NULL) {
            tool_json_begin_object(j, NULL);
            tool_json_string(j, "item", it->name);
            tool_json_string(j, "status", check_status_name(it->res.status));
            tool_json_string(j, "detail", it->res.detail);
            tool_json_end_object(j);
        } else if (!run->ctx->json) {
            printf("%s %s: %s\n", check_status_name(it->res.status), it->name,
                   it->res.detail);
        }
    }
    if (j != NULL) {
        tool_json_end_array(j);
        tool_json_end_object(j);
        tool_json_finish(j);
    }
    if (run->token_rc != TOOL_EXIT_OK)
        return run->token_rc;
    return failed ? TOOL_EXIT_CHECK_FAIL : TOOL_EXIT_OK;
}

/* CONFIG, or CONFIG/harperdb-config.yaml when it is a directory. */
static char *config_file(const char *config)
{
    struct stat st;
    char *out;

    if (stat(config, &st) != 0 || !S_ISDIR(st.st_mode))
        return OPENSSL_strdup(config);
    out = OPENSSL_malloc(strlen(config) + sizeof(HDB_CONFIG_FILE) + 1);
    if (out != NULL)
        sprintf(out, "%s/%s", config, HDB_CONFIG_FILE);
    return out;
}

int check_harperdb(struct tool_ctx *ctx, const char *config, int warn_days)
{
    struct hdb_run *run = OPENSSL_zalloc(sizeof(*run));
    int rc = TOOL_EXIT_RAISED;
    size_t i;

    if (run == NULL || (run->conf = config_file(config)) == NULL)
        goto done;
    run->ctx = ctx;
    run->warn_days = warn_days;
    run->token_rc = TOOL_EXIT_OK;
    if (stat(run->conf, &run->conf_st) != 0) {
        hsmkey_raise(HSMKEY_R_FILE, "check: --harperdb %s: %s", run->conf,
                     strerror(errno));
        goto done;
    }
    if ((run->y = tool_yaml_load_file(run->conf)) == NULL)
        goto done;
    sections(run);
    hostname_item(run);
    writable_items(run);
    rc = report(run);
done:
    if (run != NULL) {
        for (i = 0; i < run->n_tls; i++) {
            X509_free(run->tls_leaf[i]);
            OPENSSL_free(run->tls_cert[i]);
        }
        tool_yaml_free(run->y);
        OPENSSL_free(run->conf);
        OPENSSL_free(run);
    }
    return rc;
}
