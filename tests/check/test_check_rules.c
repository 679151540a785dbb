/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_check_rules.c - the certificate rules of `hsmkey check` (eku,
 * key-usage, validity, host, key-protection) on certificates made at test
 * time, all dated from one fixed "now".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "tool/check.h"

#define BOTH "serverAuth,clientAuth"
#define DS "critical,digitalSignature"

static time_t now;
static EVP_PKEY *ca_key, *ec_key, *rsa_key, *ed_key;
static X509 *ca;

static int group_setup(void **state)
{
    struct fx_cert_opts o = { "rules CA", NULL, NULL, NULL, 1, -FX_DAY,
                              3650 * FX_DAY };

    (void)state;
    now = time(NULL);
    ca_key = fx_key("EC:P-256");
    ec_key = fx_key("EC:P-256");
    rsa_key = fx_key("RSA:2048");
    ed_key = fx_key("ED25519");
    ca = fx_cert(&o, now, ca_key, NULL, ca_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ed_key);
    return 0;
}

/* A node certificate for key with the given extensions, valid a year. */
static X509 *node(EVP_PKEY *key, const char *cn, const char *san,
                  const char *eku, const char *ku)
{
    struct fx_cert_opts o = { cn, san, eku, ku, 0, -FX_DAY, 365 * FX_DAY };

    return fx_cert(&o, now, key, ca, ca_key);
}

static X509 *dated(long not_before, long not_after)
{
    struct fx_cert_opts o = { "n", NULL, BOTH, DS, 0, not_before, not_after };

    return fx_cert(&o, now, ec_key, ca, ca_key);
}

#define assert_result(r, st, needle)                                         \
    do {                                                                     \
        if ((r).status != (st) || strstr((r).detail, (needle)) == NULL)      \
            fail_msg("got %s '%s', want %s with '%s'",                      \
                     check_status_name((r).status), (r).detail,              \
                     check_status_name(st), (needle));                       \
    } while (0)

/* ---- names ---- */

static void test_check_item_names_in_documented_order(void **state)
{
    static const char *order[] = { "cert", "chain", "key-match", "key-proof",
                                  "eku", "key-usage", "validity", "host",
                                  "key-protection" };
    int i;

    (void)state;
    for (i = 0; i < CHECK_ITEM_MAX; i++)
        assert_string_equal(check_item_name(i), order[i]);
    assert_string_equal(check_item_name(CHECK_ITEM_MAX), "?");
    assert_string_equal(check_status_name(CHECK_WARN), "WARN");
}

static void test_check_detail_cut_is_marked(void **state)
{
    struct check_result r;
    char longer[2 * CHECK_DETAIL_MAX];

    (void)state;
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    check_set(&r, CHECK_FAIL, "%s", "start");
    check_append(&r, "%s", longer);
    assert_int_equal(strlen(r.detail), CHECK_DETAIL_MAX - 1);
    assert_string_equal(r.detail + CHECK_DETAIL_MAX - 4, "...");
    assert_int_equal(strncmp(r.detail, "startxx", 7), 0);
}

/* ---- eku ---- */

static void eku_case(const char *eku, enum check_status st, const char *want)
{
    X509 *c = node(ec_key, "n", NULL, eku, DS);
    struct check_result r;

    check_eku(c, &r);
    assert_int_equal(r.item, CHECK_EKU);
    assert_result(r, st, want);
    X509_free(c);
}

static void test_check_eku(void **state)
{
    (void)state;
    eku_case(BOTH, CHECK_PASS, "serverAuth and clientAuth");
    eku_case("serverAuth", CHECK_FAIL,
             "clientAuth missing: this node can accept but not open");
    eku_case("clientAuth", CHECK_FAIL,
             "serverAuth missing: this node can open but not accept");
    eku_case(NULL, CHECK_WARN, "no Extended Key Usage extension");
    eku_case("emailProtection,codeSigning", CHECK_FAIL,
             "(it has: emailProtection, codeSigning)");
    /* anyExtendedKeyUsage alone is not accepted by OpenSSL's TLS checks. */
    eku_case("anyExtendedKeyUsage", CHECK_FAIL, "serverAuth and clientAuth "
             "missing");
}

/* ---- key-usage ---- */

static void ku_case(EVP_PKEY *key, const char *ku, enum check_status st,
                    const char *want)
{
    X509 *c = node(key, "n", NULL, BOTH, ku);
    struct check_result r;

    check_key_usage(c, &r);
    assert_int_equal(r.item, CHECK_KEY_USAGE);
    assert_result(r, st, want);
    X509_free(c);
}

static void test_check_key_usage(void **state)
{
    (void)state;
    ku_case(ec_key, DS, CHECK_PASS, "digitalSignature");
    ku_case(rsa_key, "critical,digitalSignature,keyEncipherment", CHECK_PASS,
            "digitalSignature, keyEncipherment");
    ku_case(ec_key, "critical,digitalSignature,keyAgreement", CHECK_PASS,
            "keyAgreement");
    ku_case(ec_key, NULL, CHECK_PASS, "no Key Usage extension");
    ku_case(ec_key, "critical,digitalSignature,keyEncipherment", CHECK_WARN,
            "should not carry keyEncipherment");
    ku_case(ed_key, "critical,digitalSignature,keyEncipherment", CHECK_WARN,
            "should not carry keyEncipherment");
    ku_case(rsa_key, "critical,digitalSignature,keyCertSign", CHECK_WARN,
            "should not carry keyCertSign");
    ku_case(rsa_key, "critical,keyEncipherment", CHECK_FAIL,
            "digitalSignature missing");
    /* RSA without keyEncipherment: the node profile names it. */
    ku_case(rsa_key, DS, CHECK_WARN, "keyEncipherment missing on an RSA "
            "key: the cluster's node certificate profile is "
            "digitalSignature and keyEncipherment for RSA");
    ku_case(rsa_key, DS, CHECK_WARN, "it has: digitalSignature");
    /* No Key Usage at all restricts nothing: no warning. */
    ku_case(rsa_key, NULL, CHECK_PASS, "no Key Usage extension");
}

/* A node certificate that is a CA fails, whatever its Key Usage says. */
static void test_check_key_usage_ca_node(void **state)
{
    struct fx_cert_opts o = { "n", NULL, BOTH, NULL, 1, -FX_DAY,
                              365 * FX_DAY };
    X509 *c = fx_cert(&o, now, ec_key, ca, ca_key);
    struct check_result r;

    (void)state;
    check_key_usage(c, &r);
    assert_result(r, CHECK_FAIL, "is a CA certificate (basicConstraints "
                  "CA:TRUE): with it this node's key could issue "
                  "certificates that every cluster peer trusts");
    assert_result(r, CHECK_FAIL, "end-entity certificate (CA:FALSE)");
    X509_free(c);
}

/* ---- validity ---- */

static void validity_case(long nb, long na, int warn_days,
                          enum check_status st, const char *want)
{
    X509 *c = dated(nb, na);
    struct check_result r;

    check_validity(c, now, warn_days, &r);
    assert_int_equal(r.item, CHECK_VALIDITY);
    assert_result(r, st, want);
    X509_free(c);
}

static void test_check_validity(void **state)
{
    (void)state;
    validity_case(-FX_DAY, 365 * FX_DAY, 30, CHECK_PASS, "(365 days left)");
    validity_case(-FX_DAY, 10 * FX_DAY, 30, CHECK_WARN,
                  "in 10 days (inside --warn-days 30)");
    validity_case(-FX_DAY, 10 * FX_DAY, 5, CHECK_PASS, "10 days left");
    validity_case(-FX_DAY, 10 * FX_DAY, 0, CHECK_PASS, "10 days left");
    /* Exactly warn-days left is not inside the window. */
    validity_case(-FX_DAY, 30 * FX_DAY, 30, CHECK_PASS, "30 days left");
    validity_case(-FX_DAY, 30 * FX_DAY - 1, 30, CHECK_WARN, "in 29 days");
    validity_case(-FX_DAY, 3 * 3600, 30, CHECK_WARN, "in 3 hours");
    validity_case(-30 * FX_DAY, -FX_DAY, 30, CHECK_FAIL, "(1 day ago)");
    validity_case(-30 * FX_DAY, -1, 30, CHECK_FAIL, "expired on ");
    validity_case(-30 * FX_DAY, 0, 30, CHECK_FAIL, "renew the certificate");
    validity_case(2 * FX_DAY, 365 * FX_DAY, 30, CHECK_FAIL,
                  "not valid before ");
    validity_case(2 * FX_DAY, 365 * FX_DAY, 30, CHECK_FAIL, "(in 2 days)");
}

static void test_check_validity_date_format(void **state)
{
    X509 *c = dated(-FX_DAY, 100 * FX_DAY);
    struct check_result r;
    char want[64];
    time_t t = now + 100 * FX_DAY;

    (void)state;
    strftime(want, sizeof(want), "valid until %Y-%m-%d %H:%M:%S UTC",
             gmtime(&t));
    check_validity(c, now, 30, &r);
    assert_result(r, CHECK_PASS, want);
    X509_free(c);
}

/* ---- host ---- */

static void host_case(const char *cn, const char *san, const char *host,
                      enum check_status st, const char *want)
{
    X509 *c = node(ec_key, cn, san, BOTH, DS);
    struct check_result r;

    check_host(c, host, &r);
    assert_int_equal(r.item, CHECK_HOST);
    assert_result(r, st, want);
    X509_free(c);
}

static void test_check_host(void **state)
{
    const char *san = "DNS:node1.example.com,DNS:*.nodes.example.com,"
                      "IP:10.1.2.3";

    (void)state;
    host_case("node1", san, "node1.example.com", CHECK_PASS,
              "matches SAN DNS:node1.example.com");
    host_case("node1", san, "NODE1.example.com", CHECK_PASS, "matches SAN");
    host_case("node1", san, "n7.nodes.example.com", CHECK_PASS,
              "matches SAN DNS:*.nodes.example.com");
    host_case("node1", san, "10.1.2.3", CHECK_PASS, "matches an IP address");
    host_case("node1", san, "node2.example.com", CHECK_FAIL,
              "'node2.example.com' matches none of the certificate's names: "
              "SAN DNS:node1.example.com, DNS:*.nodes.example.com, "
              "IP Address:10.1.2.3");
    host_case("node1", san, "10.1.2.4", CHECK_FAIL, "matches none");
    /* An address needs a SAN IP entry: the hint says IP:, not DNS:. */
    host_case("node1", san, "10.1.2.4", CHECK_FAIL,
              "reissue with --san IP:10.1.2.4 or connect by a listed name");
    host_case("node1", san, "fd00::9", CHECK_FAIL, "--san IP:fd00::9");
    host_case("node1", san, "node9.example.com", CHECK_FAIL,
              "--san DNS:node9.example.com");
    /* The CN is a fallback only when the SAN has no DNS name. */
    host_case("node1.example.com", "DNS:other.example.com",
              "node1.example.com", CHECK_FAIL,
              "the subject is not used when SAN DNS names exist");
    host_case("node1.example.com", "IP:10.1.2.3", "node1.example.com",
              CHECK_WARN, "matches only the subject CN");
    host_case("node1.example.com", NULL, "node1.example.com", CHECK_WARN,
              "reissue with --san DNS:node1.example.com");
    host_case("node1.example.com", NULL, "node2.example.com", CHECK_FAIL,
              "SAN none, subject 'CN=node1.example.com'");
}

/* ---- key-protection ---- */

static void protection_case(int sens, int extr, int always, int never,
                            enum check_status st, const char *want)
{
    struct check_key_flags f = { sens, extr, always, never };
    struct check_result r;

    check_key_protection(&f, &r);
    assert_int_equal(r.item, CHECK_KEY_PROTECTION);
    assert_result(r, st, want);
}

static void test_check_key_protection(void **state)
{
    (void)state;
    protection_case(1, 0, 1, 1, CHECK_PASS, "cannot leave the token");
    protection_case(1, 0, 0, 0, CHECK_PASS, "it was imported");
    protection_case(1, 1, 1, 0, CHECK_WARN, "CKA_EXTRACTABLE is true");
    protection_case(0, 0, 0, 1, CHECK_WARN, "CKA_SENSITIVE is false");
    protection_case(0, 1, 0, 0, CHECK_WARN,
                    "CKA_SENSITIVE is false and CKA_EXTRACTABLE is true");
    protection_case(0, 1, 0, 0, CHECK_WARN, "hsmkey keygen");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_item_names_in_documented_order),
        cmocka_unit_test(test_check_detail_cut_is_marked),
        cmocka_unit_test(test_check_eku),
        cmocka_unit_test(test_check_key_usage),
        cmocka_unit_test(test_check_key_usage_ca_node),
        cmocka_unit_test(test_check_validity),
        cmocka_unit_test(test_check_validity_date_format),
        cmocka_unit_test(test_check_host),
        cmocka_unit_test(test_check_key_protection),
    };

    return cmocka_run_group_tests_name("check rules", tests, group_setup,
                                       group_teardown);
}
