/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench.h - the hsmkey benchmark: what each part measures.
 *
 * All figures come from one process and one run, so ratios compare like
 * with like.  Rates are medians of several timed rounds.
 */
#ifndef HSMKEY_BENCH_H
#define HSMKEY_BENCH_H

#include <stddef.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

struct bench_alg {
    const char *name;     /* "RSA-2048 PKCS#1", ... */
    const char *label;    /* token key label */
    int pss;              /* RSA-PSS */
    int eddsa;            /* one-shot, no digest */
};

struct bench_cfg {
    const char *module;   /* PKCS#11 module (SoftHSM2) */
    const char *token;    /* token label */
    const char *pin;      /* user PIN (a throwaway test token's) */
    double seconds;       /* length of one timed round */
    int rounds;           /* rounds per figure; the median is reported */
};

#define BENCH_MAX_MODES 8
#define BENCH_MAX_ROUNDS 32

/* One way of doing the operation: fn(arg, thread) does it once, 1 on
 * success. */
struct bench_mode {
    int (*fn)(void *arg, int thread);
    void *arg;
};

/* Median rate (operations per second) of cfg->rounds rounds of fn run by
 * nthreads threads. */
double bench_rate(const struct bench_cfg *cfg, int nthreads,
                  int (*fn)(void *arg, int thread), void *arg);
/* The same for several modes whose rounds take turns; out[i] for modes[i]. */
void bench_rates(const struct bench_cfg *cfg, int nthreads,
                 const struct bench_mode *modes, int nmodes, double *out);

/* raw.c: C_SignInit + C_Sign with a session per thread, on the token object
 * (session_copy 0) or on a session-object copy of it (1).  The mode is
 * ready to time until bench_raw_free. */
struct bench_raw;
struct bench_raw *bench_raw_new(const struct bench_cfg *cfg,
                                const struct bench_alg *alg, int nthreads,
                                int session_copy, struct bench_mode *mode);
void bench_raw_free(struct bench_raw *raw);

/* evp.c: EVP_DigestSign on a key loaded by URI through the provider, or on
 * a software key of the same type; ctx must live while the mode is used. */
struct bench_evp {
    EVP_PKEY *key;
    const struct bench_alg *alg;
};
struct bench_mode bench_evp_mode(struct bench_evp *ctx);

/* prepared.c: a software key with its context prepared once per thread. */
struct bench_prepared;
struct bench_prepared *bench_prepared_new(EVP_PKEY *key,
                                          const struct bench_alg *alg,
                                          int nthreads,
                                          struct bench_mode *mode);
void bench_prepared_free(struct bench_prepared *p);
EVP_PKEY *bench_load_key(const char *uri);
/* One EVP_DigestSign as above; 1 on success. */
int bench_evp_sign(EVP_PKEY *key, const struct bench_alg *alg);
EVP_PKEY *bench_software_key(const struct bench_alg *alg);

/* tls.c: full TLS 1.3 handshakes per second, in process over memory BIOs,
 * the server's key on the token (token_key) or on disk (software). */
double bench_tls(const struct bench_cfg *cfg, EVP_PKEY *server_key);

/* count.c: token calls per signature through the counting shim. */
int bench_count_calls(const struct bench_cfg *cfg, int n);

/* raw.c: n more (data) objects on the token; the token's own search time. */
int bench_add_objects(const struct bench_cfg *cfg, int n);
double bench_raw_find_ms(const struct bench_cfg *cfg, const char *label);

/* load.c: milliseconds to load a key by URI: cold in a new process
 * (module start and login included), warm as the median of repeated loads
 * in this one. */
double bench_load_cold(const char *self, const char *uri);
double bench_load_warm(const char *uri);
/* First load of each of these keys in this (running) process, median;
 * form (0-2) picks a URI spelling not used before. */
double bench_load_first(const char *token, const char *const *labels, int n,
                        int form);
double bench_load_once(const char *uri);

#endif
