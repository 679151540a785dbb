/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_check_chain.c - the cert, chain, key-match and key-proof items of
 * `hsmkey check` on certificates and software keys made at test time (the
 * token side is covered by the shell tests beside this file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "tool/check.h"

#define BOTH "serverAuth,clientAuth"
#define DS "critical,digitalSignature"
#define YEAR (365 * FX_DAY)

static time_t now;
static char dir[] = "/tmp/hsmkey-test-check.XXXXXX";
static EVP_PKEY *root_key, *inter_key, *other_key, *leaf_key;
static X509 *root, *inter, *other_root, *twin_root, *leaf, *leaf_i;
/* The same name as inter, another key; a second issuing CA under root. */
static X509 *twin_inter, *inter2, *leaf_2;

static X509 *make(const char *cn, int ca, long nb, long na, EVP_PKEY *key,
                  X509 *issuer, EVP_PKEY *issuer_key)
{
    struct fx_cert_opts o = { cn, "DNS:node1.example.com", ca ? NULL : BOTH,
                              ca ? NULL : DS, ca, nb, na };

    return fx_cert(&o, now, key, issuer, issuer_key);
}

static int group_setup(void **state)
{
    (void)state;
    now = time(NULL);
    if (mkdtemp(dir) == NULL)
        return -1;
    root_key = fx_key("EC:P-256");
    inter_key = fx_key("EC:P-256");
    other_key = fx_key("EC:P-256");
    leaf_key = fx_key("EC:P-256");
    root = make("test root", 1, -FX_DAY, 10 * YEAR, root_key, NULL, root_key);
    inter = make("test intermediate", 1, -FX_DAY, 5 * YEAR, inter_key, root,
                 root_key);
    other_root = make("other root", 1, -FX_DAY, YEAR, other_key, NULL,
                      other_key);
    /* Same name as the real root, another key: a re-made dev CA. */
    twin_root = make("test root", 1, -FX_DAY, YEAR, other_key, NULL,
                     other_key);
    leaf = make("node1", 0, -FX_DAY, YEAR, leaf_key, root, root_key);
    leaf_i = make("node1", 0, -FX_DAY, YEAR, leaf_key, inter, inter_key);
    twin_inter = make("test intermediate", 1, -FX_DAY, YEAR, other_key, root,
                      root_key);
    inter2 = make("issuing CA 2", 1, -FX_DAY, YEAR, other_key, root,
                  root_key);
    leaf_2 = make("node1", 0, -FX_DAY, YEAR, leaf_key, inter2, other_key);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[64];

    (void)state;
    X509_free(root);
    X509_free(inter);
    X509_free(other_root);
    X509_free(twin_root);
    X509_free(leaf);
    X509_free(leaf_i);
    X509_free(twin_inter);
    X509_free(inter2);
    X509_free(leaf_2);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(inter_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(leaf_key);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define assert_result(r, st, needle)                                         \
    do {                                                                     \
        if ((r).status != (st) || strstr((r).detail, (needle)) == NULL)      \
            fail_msg("got %s '%s', want %s with '%s'",                      \
                     check_status_name((r).status), (r).detail,              \
                     check_status_name(st), (needle));                       \
    } while (0)

static const char *path(const char *name)
{
    static char buf[256];

    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

/* ---- cert ---- */

static void test_check_cert_load_pem_with_intermediate(void **state)
{
    struct check_result r;
    X509 *got = NULL;
    STACK_OF(X509) *extra = NULL;

    (void)state;
    fx_write(path("pem"), 0, leaf_i, inter, NULL);
    assert_int_equal(check_cert_load(path("pem"), &got, &extra, &r), 1);
    assert_result(r, CHECK_PASS, "subject 'CN=node1', issuer "
                  "'CN=test intermediate'; 1 more certificate in the file");
    assert_int_equal(X509_cmp(got, leaf_i), 0);
    assert_int_equal(sk_X509_num(extra), 1);
    X509_free(got);
    fx_stack_free(extra);
}

static void test_check_cert_load_der(void **state)
{
    struct check_result r;
    X509 *got = NULL;
    STACK_OF(X509) *extra = NULL;

    (void)state;
    fx_write(path("der"), 1, leaf, NULL);
    assert_int_equal(check_cert_load(path("der"), &got, &extra, &r), 1);
    assert_int_equal(r.status, CHECK_PASS);
    assert_int_equal(X509_cmp(got, leaf), 0);
    assert_int_equal(sk_X509_num(extra), 0);
    X509_free(got);
    fx_stack_free(extra);
}

static void test_check_cert_load_bad_files(void **state)
{
    struct check_result r;
    X509 *got = NULL;
    STACK_OF(X509) *extra = NULL, *cas = NULL;
    FILE *f = fopen(path("junk"), "w");

    (void)state;
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n", f);
    fclose(f);
    assert_int_equal(check_cert_load(path("missing"), &got, &extra, &r), 0);
    assert_result(r, CHECK_FAIL, "/missing: cannot read it: No such file");
    assert_int_equal(r.item, CHECK_CERT);
    assert_null(got);
    assert_int_equal(check_cert_load(path("junk"), &got, &extra, &r), 0);
    assert_result(r, CHECK_FAIL, "/junk: no certificate in it");
    assert_int_equal(check_ca_load(path("junk"), &cas, &r), 0);
    assert_int_equal(r.item, CHECK_CHAIN);
    assert_result(r, CHECK_FAIL, "--ca ");
    assert_null(cas);
}

/* ---- chain ---- */

static void chain_case(X509 *cert, STACK_OF(X509) *extra,
                       STACK_OF(X509) *cas, enum check_status st,
                       const char *want)
{
    struct check_result r;

    check_chain(cert, extra, cas, &r);
    assert_int_equal(r.item, CHECK_CHAIN);
    fx_stack_free(extra);
    fx_stack_free(cas);
    assert_result(r, st, want);
}

static void test_check_chain_direct_and_intermediates(void **state)
{
    (void)state;
    chain_case(leaf, fx_stack(NULL), fx_stack(root, NULL), CHECK_PASS,
               "verified to root 'CN=test root' of --ca");
    /* The intermediate in the certificate file ... */
    chain_case(leaf_i, fx_stack(inter, NULL), fx_stack(root, NULL),
               CHECK_PASS, "through 'CN=test intermediate'");
    /* ... or in --ca, in either order. */
    chain_case(leaf_i, fx_stack(NULL), fx_stack(inter, root, NULL),
               CHECK_PASS, "through 'CN=test intermediate'");
    chain_case(leaf_i, fx_stack(NULL), fx_stack(root, inter, NULL),
               CHECK_PASS, "verified to root 'CN=test root'");
}

static void test_check_chain_failures(void **state)
{
    X509 *fake = make("fake", 0, -FX_DAY, YEAR, other_key, leaf, leaf_key);

    (void)state;
    chain_case(leaf, fx_stack(NULL), fx_stack(other_root, NULL), CHECK_FAIL,
               "the node certificate's issuer 'CN=test root', AKI ");
    chain_case(leaf_i, fx_stack(NULL), fx_stack(inter, NULL), CHECK_FAIL,
               "--ca holds no root (self-signed) certificate");
    chain_case(root, fx_stack(NULL), fx_stack(other_root, NULL), CHECK_FAIL,
               "self-signed");
    /* A node certificate posing as an intermediate: OpenSSL's reason. */
    chain_case(fake, fx_stack(leaf, NULL), fx_stack(root, NULL), CHECK_FAIL,
               "not marked as a CA");
    X509_free(fake);
}

/* Each break named in one line, with the fix. */
static void test_check_chain_diagnosis(void **state)
{
    char ski[CHECK_KEYID_MAX], aki[CHECK_KEYID_MAX], want[400];

    (void)state;
    /* Root-only CA file: the intermediate is missing. */
    chain_case(leaf_i, fx_stack(NULL), fx_stack(root, NULL), CHECK_FAIL,
               "the node certificate's issuer 'CN=test intermediate', AKI ");
    chain_case(leaf_i, fx_stack(NULL), fx_stack(root, NULL), CHECK_FAIL,
               "is in neither file, and --ca holds only the root 'CN=test "
               "root': if 'CN=test intermediate' is an intermediate CA under "
               "it, append its certificate to --cert after the node "
               "certificate");
    /* A re-made root of the same name: AKI against SKI. */
    snprintf(want, sizeof(want), "the root 'CN=test root' (--ca #1) has the "
             "name of the issuer of 'CN=node1' but another key (that "
             "certificate's AKI is %s, this one's SKI is %s)",
             check_aki(leaf, aki, sizeof(aki)),
             check_ski(twin_root, ski, sizeof(ski)));
    chain_case(leaf, fx_stack(NULL), fx_stack(twin_root, NULL), CHECK_FAIL,
               want);
    /* The wrong same-named intermediate, in either file. */
    chain_case(leaf_i, fx_stack(twin_inter, NULL), fx_stack(root, NULL),
               CHECK_FAIL, "the intermediate 'CN=test intermediate' (--cert "
               "#2) has the name of the issuer of 'CN=node1' but another key");
    chain_case(leaf_i, fx_stack(NULL), fx_stack(root, twin_inter, NULL),
               CHECK_FAIL, "(--ca #2) has the name of the issuer");
    chain_case(leaf_i, fx_stack(NULL), fx_stack(root, twin_inter, NULL),
               CHECK_FAIL, "another CA with the same name (re-made, or from "
               "another root); use the CA certificate that issued "
               "'CN=node1'");
    /* A second certificate in --cert that issued nothing here. */
    chain_case(leaf_i, fx_stack(inter2, NULL), fx_stack(root, NULL),
               CHECK_FAIL, "--cert #2 ('CN=issuing CA 2') is not the issuer "
               "of the node certificate, which was issued by 'CN=test "
               "intermediate', AKI ");
    /* A certificate from a second issuing CA. */
    chain_case(leaf_2, fx_stack(NULL), fx_stack(root, inter, NULL),
               CHECK_FAIL, "the node certificate was issued by 'CN=issuing "
               "CA 2', AKI ");
    chain_case(leaf_2, fx_stack(NULL), fx_stack(root, inter, NULL),
               CHECK_FAIL, "which is in neither file; --ca holds 'CN=test "
               "root', 'CN=test intermediate': a certificate from another "
               "issuing CA?");
    /* A path that ends outside --ca. */
    chain_case(leaf_i, fx_stack(inter, NULL), fx_stack(other_root, NULL),
               CHECK_FAIL, "the chain ends at 'CN=test intermediate' (--cert "
               "#2): its issuer 'CN=test root' is not in --ca, which holds "
               "'CN=other root': is --ca the wrong CA?");
    chain_case(leaf_i, fx_stack(inter, root, NULL),
               fx_stack(other_root, NULL), CHECK_FAIL,
               "the chain leads to the root 'CN=test root', which is in "
               "--cert but not in --ca");
}

/* A chain that verifies, with certificates of --cert it does not use. */
static void test_check_chain_unused_certificates(void **state)
{
    (void)state;
    chain_case(leaf, fx_stack(other_root, NULL), fx_stack(root, NULL),
               CHECK_WARN, "verified to root 'CN=test root' of --ca; but "
               "--cert #2 ('CN=other root') is not part of the node's chain: "
               "servers send it to every peer; remove it");
    chain_case(leaf_i, fx_stack(root, inter, NULL), fx_stack(root, NULL),
               CHECK_WARN, "--cert is out of order: #2 ('CN=test root')");
    chain_case(leaf_i, fx_stack(inter, root, NULL), fx_stack(root, NULL),
               CHECK_PASS, "through 'CN=test intermediate'");
}

static void test_check_chain_verified_path(void **state)
{
    STACK_OF(X509) *extra = fx_stack(inter, NULL), *cas = fx_stack(root, NULL);
    STACK_OF(X509) *others = fx_stack(other_root, NULL), *chain = NULL;
    struct check_result r;

    (void)state;
    check_chain_verified(leaf_i, extra, cas, &chain, &r);
    assert_int_equal(r.status, CHECK_PASS);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 0), leaf_i), 0);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), root), 0);
    sk_X509_pop_free(chain, X509_free);
    check_chain_verified(leaf_i, extra, others, &chain, &r);
    assert_int_equal(r.status, CHECK_FAIL);
    assert_null(chain);
    fx_stack_free(extra);
    fx_stack_free(cas);
    fx_stack_free(others);
}

/* ---- where the node certificate is ---- */

static void layout_case(STACK_OF(X509) *cert_file, STACK_OF(X509) *ca_file,
                        enum check_layout want, X509 *want_leaf, int index,
                        enum check_status st, const char *needle)
{
    struct check_inputs in = { cert_file, ca_file, 0, NULL, 0, NULL, NULL };
    struct check_result arranged, r;

    assert_int_equal(check_arrange(&in), 1);
    assert_int_equal(in.layout, want);
    assert_int_equal(X509_cmp(in.leaf, want_leaf), 0);
    assert_int_equal(in.leaf_index, index);
    check_chain(in.leaf, in.extra, in.cas, &arranged);
    if (in.layout == CHECK_LAYOUT_OK)
        r = arranged;
    else
        check_layout_result(&in, &arranged, &r);
    check_inputs_release(&in);
    fx_stack_free(cert_file);
    fx_stack_free(ca_file);
    assert_result(r, st, needle);
}

static void test_check_layout(void **state)
{
    (void)state;
    layout_case(fx_stack(leaf_i, inter, NULL), fx_stack(root, NULL),
                CHECK_LAYOUT_OK, leaf_i, 1, CHECK_PASS, "verified");
    /* --cert and --ca swapped: one FAIL, and what then happens. */
    layout_case(fx_stack(root, NULL), fx_stack(leaf, NULL),
                CHECK_LAYOUT_SWAPPED, leaf, 1, CHECK_FAIL,
                "--cert and --ca are swapped: --cert holds the CA "
                "certificate 'CN=test root' (root) and --ca the node "
                "certificate 'CN=node1': give the node's certificate file "
                "as --cert and the CA file as --ca; then the chain verified "
                "to root 'CN=test root' of --ca");
    layout_case(fx_stack(root, NULL), fx_stack(leaf_i, inter, NULL),
                CHECK_LAYOUT_SWAPPED, leaf_i, 1, CHECK_FAIL,
                "through 'CN=test intermediate'");
    /* The chain file in reverse order. */
    layout_case(fx_stack(root, inter, leaf_i, NULL), fx_stack(root, NULL),
                CHECK_LAYOUT_REVERSED, leaf_i, 3, CHECK_FAIL,
                "the node certificate 'CN=node1' is #3 of 3 in --cert, after "
                "the CA certificate 'CN=test root': the file is in reverse "
                "order");
    layout_case(fx_stack(inter, leaf_i, NULL), fx_stack(other_root, NULL),
                CHECK_LAYOUT_REVERSED, leaf_i, 2, CHECK_FAIL,
                "; even then: the chain ends at 'CN=test intermediate'");
    /* No node certificate anywhere: the first of --cert, as servers do. */
    layout_case(fx_stack(inter, NULL), fx_stack(root, NULL), CHECK_LAYOUT_OK,
                inter, 1, CHECK_PASS, "verified");
}

static void test_check_cert_roles(void **state)
{
    char line[1024], ski[CHECK_KEYID_MAX];

    (void)state;
    assert_int_equal(check_cert_role(leaf), CHECK_ROLE_LEAF);
    assert_int_equal(check_cert_role(inter), CHECK_ROLE_INTERMEDIATE);
    assert_int_equal(check_cert_role(root), CHECK_ROLE_ROOT);
    assert_string_equal(check_role_name(CHECK_ROLE_INTERMEDIATE),
                        "intermediate");
    check_cert_summary(inter, line, sizeof(line));
    check_ski(inter, ski, sizeof(ski));
    assert_int_equal(strlen(ski), 59); /* 20 bytes as XX:XX:... */
    assert_non_null(strstr(line, "intermediate, subject 'CN=test "
                                 "intermediate', issuer 'CN=test root', "
                                 "SKI "));
    assert_non_null(strstr(line, ski));
}

static void test_check_chain_dates(void **state)
{
    X509 *old_leaf = make("old", 0, -YEAR, -FX_DAY, leaf_key, root, root_key);
    X509 *old_inter = make("old intermediate", 1, -YEAR, -FX_DAY, inter_key,
                           root, root_key);
    X509 *leaf_o = make("n", 0, -FX_DAY, YEAR, leaf_key, old_inter,
                        inter_key);

    (void)state;
    /* An expired node certificate is the validity item's to report. */
    chain_case(old_leaf, fx_stack(NULL), fx_stack(root, NULL), CHECK_PASS,
               "verified");
    chain_case(leaf_o, fx_stack(old_inter, NULL), fx_stack(root, NULL),
               CHECK_FAIL, "certificate has expired at 'CN=old intermediate'");
    X509_free(old_leaf);
    X509_free(old_inter);
    X509_free(leaf_o);
}

/* ---- key-match and key-proof ---- */

static void match_case(const char *cert_spec, const char *token_spec,
                       enum check_status st, const char *want)
{
    EVP_PKEY *ck = fx_key(cert_spec);
    EVP_PKEY *tk = token_spec ? fx_key(token_spec) : ck;
    X509 *c = make("n", 0, -FX_DAY, YEAR, ck, root, root_key);
    struct check_result r;

    check_key_match(tk, c, &r);
    assert_int_equal(r.item, CHECK_KEY_MATCH);
    if (tk != ck)
        EVP_PKEY_free(tk);
    EVP_PKEY_free(ck);
    X509_free(c);
    assert_result(r, st, want);
}

static void test_check_key_match(void **state)
{
    (void)state;
    match_case("EC:P-256", NULL, CHECK_PASS, "EC P-256 key is the token key's "
               "(curve and point)");
    match_case("RSA:2048", NULL, CHECK_PASS, "(modulus and exponent)");
    match_case("ED25519", NULL, CHECK_PASS, "Ed25519");
    match_case("RSA:2048", "RSA:2048", CHECK_FAIL,
               "the certificate's modulus differs from the token key's: "
               "this certificate was issued for another key");
    match_case("RSA:3072", "RSA:2048", CHECK_FAIL,
               "modulus differs from the token key's (RSA 3072 vs RSA 2048)");
    match_case("EC:P-256", "EC:P-256", CHECK_FAIL,
               "EC point differs from the token key's (both P-256)");
    match_case("EC:P-384", "EC:P-256", CHECK_FAIL,
               "curve P-384 differs from the token key's P-256");
    match_case("EC:P-256", "RSA:2048", CHECK_FAIL,
               "holds an EC P-256 key but the token key is RSA 2048");
    match_case("ED25519", "ED25519", CHECK_FAIL,
               "Ed25519 key differs from the token key's");
}

static void proof_case(const char *spec, int same, enum check_status st,
                       const char *want)
{
    EVP_PKEY *ck = fx_key(spec);
    EVP_PKEY *tk = same ? ck : fx_key(spec);
    X509 *c = make("n", 0, -FX_DAY, YEAR, ck, root, root_key);
    struct check_result r;

    check_key_proof(tk, NULL, NULL, c, &r);
    assert_int_equal(r.item, CHECK_KEY_PROOF);
    if (tk != ck)
        EVP_PKEY_free(tk);
    EVP_PKEY_free(ck);
    X509_free(c);
    assert_result(r, st, want);
}

static void test_check_key_proof(void **state)
{
    (void)state;
    proof_case("EC:P-256", 1, CHECK_PASS, "(ECDSA with SHA-256) and the "
               "certificate's key verified it");
    proof_case("RSA:2048", 1, CHECK_PASS, "RSA PKCS#1 v1.5 with SHA-256");
    proof_case("ED25519", 1, CHECK_PASS, "(Ed25519)");
    proof_case("EC:P-256", 0, CHECK_FAIL, "does not verify with the "
               "certificate's key: this certificate was issued for another");
    proof_case("ED25519", 0, CHECK_FAIL, "does not verify");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_cert_load_pem_with_intermediate),
        cmocka_unit_test(test_check_cert_load_der),
        cmocka_unit_test(test_check_cert_load_bad_files),
        cmocka_unit_test(test_check_chain_direct_and_intermediates),
        cmocka_unit_test(test_check_chain_failures),
        cmocka_unit_test(test_check_chain_diagnosis),
        cmocka_unit_test(test_check_chain_unused_certificates),
        cmocka_unit_test(test_check_chain_verified_path),
        cmocka_unit_test(test_check_layout),
        cmocka_unit_test(test_check_cert_roles),
        cmocka_unit_test(test_check_chain_dates),
        cmocka_unit_test(test_check_key_match),
        cmocka_unit_test(test_check_key_proof),
    };

    return cmocka_run_group_tests_name("check chain and key", tests,
                                       group_setup, group_teardown);
}
