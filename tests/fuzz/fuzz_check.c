/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_check.c - certificates and chains as `hsmkey check` reads them
 * (tool/check.h): the input is written to a file and read as --cert (PEM
 * blocks or one DER certificate) and as --ca, and every item that needs
 * only files runs on what was read: chain (the whole file as the CA file),
 * eku, key-usage, validity at several times, host for several names, and
 * key-match against the certificate's own key and two unrelated keys.
 *
 * Contracts checked on every input:
 *  - loading either succeeds with a leaf, or FAILs naming the file;
 *  - every item fills its result: the right item, a valid status, a
 *    NUL-terminated detail of at most CHECK_DETAIL_MAX bytes, never empty,
 *    without control characters (it is printed on a terminal as it is);
 *  - key-match PASSes for the certificate's own key and never for a key
 *    of another type.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "fuzz.h"

static EVP_PKEY *other_ec, *other_rsa;

static void assert_result(const struct check_result *r, enum check_item item)
{
    size_t len = strnlen(r->detail, sizeof(r->detail));

    FUZZ_ASSERT(r->item == item, "item %d filled as %d", (int)item,
                (int)r->item);
    FUZZ_ASSERT(r->status == CHECK_PASS || r->status == CHECK_WARN
                    || r->status == CHECK_FAIL,
                "%s: status %d", check_item_name(item), (int)r->status);
    FUZZ_ASSERT(len < sizeof(r->detail), "%s: detail not terminated",
                check_item_name(item));
    FUZZ_ASSERT(len > 0 || item == CHECK_KEY_USAGE,
                "%s: empty detail", check_item_name(item));
    /* Printed as it is on a terminal, one line per item: what a
     * certificate holds must not come through as control characters
     * (check-san-newline: OpenSSL prints a SAN's CR and LF as they are). */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)r->detail[i];

        if ((c == '\n' || c == '\r') && fuzz_known("check-san-newline"))
            return;
        FUZZ_ASSERT(c >= 0x20 && c != 0x7f,
                    "%s: control character 0x%02x in the detail: %s",
                    check_item_name(item), c, r->detail);
    }
}

static int has_ctrl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* The certificate's key, decoded again from its DER, matches it. */
static void check_own_key(X509 *leaf)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    int len = i2d_PUBKEY(X509_get0_pubkey(leaf), &der);
    EVP_PKEY *again = NULL;
    struct check_result r;

    p = der;
    if (len > 0 && (again = d2i_PUBKEY(NULL, &p, len)) != NULL) {
        memset(&r, 0, sizeof(r));
        check_key_match(again, leaf, &r);
        assert_result(&r, CHECK_KEY_MATCH);
        FUZZ_ASSERT(r.status == CHECK_PASS,
                    "key-match fails for the certificate's own key: %s",
                    r.detail);
    }
    EVP_PKEY_free(again);
    OPENSSL_free(der);
    ERR_clear_error();
}

static void run_items(X509 *leaf, STACK_OF(X509) *extra,
                      STACK_OF(X509) *cas)
{
    static const time_t times[] = { 1735689600, 0, -1, 253402300799LL };
    static const char *const hosts[] = {
        "node1.example.com", "*.example.com", "10.0.0.1", "::1",
        "localhost", "NODE1.EXAMPLE.COM.", "", "xn--nxasmq6b.example",
    };
    struct check_result r;
    char cn[256];
    EVP_PKEY *own = X509_get0_pubkey(leaf);

    memset(&r, 0, sizeof(r));
    check_chain(leaf, extra, cas, &r);
    assert_result(&r, CHECK_CHAIN);
    check_eku(leaf, &r);
    assert_result(&r, CHECK_EKU);
    check_key_usage(leaf, &r);
    assert_result(&r, CHECK_KEY_USAGE);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        check_validity(leaf, times[i], (int)(i * 12000), &r);
        assert_result(&r, CHECK_VALIDITY);
    }
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        check_host(leaf, hosts[i], &r);
        assert_result(&r, CHECK_HOST);
    }
    /* The certificate's own CN, whatever bytes it holds. */
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
                                  cn, sizeof(cn)) > 0
        && !has_ctrl(cn)) { /* --host is the user's: echoed as given */
        check_host(leaf, cn, &r);
        assert_result(&r, CHECK_HOST);
    }
    if (own != NULL)
        check_key_describe(own, cn, sizeof(cn));
    check_own_key(leaf);
    check_key_match(other_ec, leaf, &r);
    assert_result(&r, CHECK_KEY_MATCH);
    FUZZ_ASSERT(r.status == CHECK_FAIL, "key-match with a fresh EC key: %s",
                r.detail);
    check_key_match(other_rsa, leaf, &r);
    assert_result(&r, CHECK_KEY_MATCH);
    FUZZ_ASSERT(r.status == CHECK_FAIL, "key-match with a fresh RSA key: %s",
                r.detail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    struct check_result r;
    X509 *leaf = NULL;
    STACK_OF(X509) *extra = NULL, *cas = NULL;
    int ok;

    if (path[0] == '\0') {
        fuzz_path("cert.pem", path, sizeof(path));
        other_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        other_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
        FUZZ_ASSERT(other_ec != NULL && other_rsa != NULL, "%s",
                    "cannot make the keys to compare with");
    }
    fuzz_err_reset();
    fuzz_write(path, data, size);
    memset(&r, 0, sizeof(r));
    ok = check_cert_load(path, &leaf, &extra, &r);
    assert_result(&r, CHECK_CERT);
    FUZZ_ASSERT(ok == (r.status == CHECK_PASS) && ok == (leaf != NULL),
                "cert: returned %d with status %s", ok,
                check_status_name(r.status));
    FUZZ_ASSERT(ok || strstr(r.detail, path) != NULL,
                "cert: the failure does not name the file: %s", r.detail);
    if (check_ca_load(path, &cas, &r)) {
        FUZZ_ASSERT(ok && sk_X509_num(cas) > 0, "%s",
                    "--ca and --cert disagree on the same file");
    } else {
        assert_result(&r, CHECK_CHAIN);
        FUZZ_ASSERT(r.status == CHECK_FAIL && cas == NULL && !ok,
                    "--ca refused what --cert read: %s", r.detail);
    }
    if (ok)
        run_items(leaf, extra, cas);
    X509_free(leaf);
    sk_X509_pop_free(extra, X509_free);
    sk_X509_pop_free(cas, X509_free);
    ERR_clear_error();
    return 0;
}
