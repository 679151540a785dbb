/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_util.h - helpers shared by the C test programs of tests/c: load a
 * token key by URI through the provider that OPENSSL_CONF activates, sign
 * with it, verify in software, read the error queue, time, and the
 * fault-injecting shim's in-process API (tests/p11shim/p11shim.h).
 *
 * Functions return 1/0 (or pointer/NULL) like the code under test.
 */
#ifndef HSMKEY_TESTS_PROV_UTIL_H
#define HSMKEY_TESTS_PROV_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>

/* Stop the program: an outcome other than the expected one.  _exit: other
 * threads may still be inside OpenSSL, whose exit-time cleanup would crash
 * under them and hide the message. */
#define TC_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            fflush(NULL);                                                    \
            _exit(1);                                                        \
        }                                                                    \
    } while (0)

/* The private key a URI names (OSSL_STORE, as servers load it); NULL and
 * the error queue left for the caller when it cannot be loaded. */
EVP_PKEY *tc_load_key(const char *uri);
/* Its public half as a plain default-provider key. */
EVP_PKEY *tc_public(EVP_PKEY *key);

/* One EVP_DigestSign (SHA-256) of a fresh random message through the
 * token key, verified with pub by the default provider.  On failure the
 * error queue is left for the caller (tc_errors); a signature that is made
 * but does not verify is fatal (TC_CHECK): it is never a token fault. */
int tc_sign(EVP_PKEY *key, EVP_PKEY *pub);
/* Two messages signed with one EVP_DigestSign context, both verified. */
int tc_sign_twice(EVP_PKEY *key, EVP_PKEY *pub);

/* Drain the thread's error queue into buf (one "; "-separated string with
 * each error's data; SoftHSM's engine-probe noise left out); returns buf. */
char *tc_errors(char *buf, size_t len);

/* What the provider says it holds on the token now (its monitoring
 * parameters): sessions open, of those idle, session-object copies. */
struct tc_stats {
    unsigned long sessions, idle, copies;
};
void tc_provider_stats(struct tc_stats *st);

/* Monotonic milliseconds. */
double tc_now_ms(void);
void tc_sleep_ms(long ms);

/* ---- hsmkey-p11shim.so, loaded into this process ---- */

/*
 * dlopen the shim (HSMKEY_TEST_SHIM) so the provider's p11-kit load finds
 * this very copy; ctl is the control file the shim reads
 * (HSMKEY_SHIM_CONTROL), so the caller must export it before the first key
 * is loaded.  Fatal when the shim cannot be loaded.
 */
void tc_shim_open(void);
/* Calls of fn counted by the shim in this process ("C_Sign", "faults"). */
unsigned long tc_shim_count(const char *fn);
/*
 * Replace the control file's rules (atomically) and, once the module is
 * initialized, wait until the shim has read them (a canary rule on
 * C_GetFunctionStatus, a function the provider never calls).
 */
void tc_shim_control(const char *rules);

/* Session objects the token itself shows this process (a search for
 * CKA_TOKEN false in a session of its own, through the shim); -1 when the
 * token has no session to spare. */
long tc_token_session_objects(void);

/* Counters of the functions a signature involves, to compare before and
 * after a step. */
struct tc_counts {
    unsigned long sign_init, sign, login, open, find, faults, slots;
};
void tc_counts_take(struct tc_counts *c);
/* after - before, field by field. */
struct tc_counts tc_counts_diff(const struct tc_counts *after,
                                const struct tc_counts *before);

#endif
