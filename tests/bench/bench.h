/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench.h - the hsmkey benchmark: what each part measures.
 *
 * All figures of one table come from one process and one run, so ratios
 * compare like with like.  Rates are medians of several timed rounds whose
 * modes take turns; ratios are medians of per-round ratios.
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

/* The four signing algorithms of the tables (main.c). */
extern const struct bench_alg bench_algs[];
extern const size_t bench_nalgs;

struct bench_cfg {
    const char *module;   /* PKCS#11 module of the raw modes */
    const char *token;    /* token label */
    const char *pin;      /* user PIN (a throwaway test token's) */
    double seconds;       /* length of one timed round */
    int rounds;           /* rounds per figure; the median is reported */
};

#define BENCH_MAX_MODES 10
#define BENCH_MAX_ROUNDS 32
#define BENCH_MAX_THREADS 64

/* One way of doing the operation: fn(arg, thread) does it once, 1 on
 * success. */
struct bench_mode {
    int (*fn)(void *arg, int thread);
    void *arg;
};

/* rate.c: every round of every mode. */
struct bench_result {
    int nmodes, rounds;
    double rate[BENCH_MAX_MODES][BENCH_MAX_ROUNDS]; /* operations/s */
    /* CPU seconds of all threads per operation (not counting waits) */
    double cpu[BENCH_MAX_MODES][BENCH_MAX_ROUNDS];
    /* share of the threads' time asleep (on a lock), not running nor
     * waiting for a core; -1 where unknown */
    double blocked[BENCH_MAX_MODES][BENCH_MAX_ROUNDS];
    long ops[BENCH_MAX_MODES], failures[BENCH_MAX_MODES];
};

/* cfg->rounds rounds of each mode run by nthreads threads, the modes'
 * rounds taking turns.  Failed operations are counted, not fatal. */
void bench_run(const struct bench_cfg *cfg, int nthreads,
               const struct bench_mode *modes, int nmodes,
               struct bench_result *res);
/* Median of n values (n >= 1); v is left in order. */
double bench_median(double *v, int n);
/* Median rate of mode m, and its median CPU seconds per operation. */
double bench_result_rate(const struct bench_result *res, int m);
double bench_result_cpu(const struct bench_result *res, int m);
/* Median share of mode m's thread time spent asleep. */
double bench_result_blocked(const struct bench_result *res, int m);
/* Exit with a message when any operation of res failed. */
void bench_require_no_failures(const struct bench_result *res,
                               const char *what);
/* A line on stderr with the seconds since the first one: where a run
 * spends its time. */
void bench_progress(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* This thread's CPU time and the monotonic clock, in ms.  A load is timed
 * in CPU time: on a busy machine its wall time is mostly the waits for a
 * core (SoftHSM2 works in the calling thread). */
double bench_cpu_ms(void);
double bench_wall_ms(void);

/* raw.c: C_SignInit + C_Sign straight to the module, a session per thread,
 * on one of the token's signing paths.  The mode is ready to time until
 * bench_raw_free. */
enum bench_raw_path {
    BENCH_RAW_TOKEN,       /* the token object */
    BENCH_RAW_SHARED_COPY, /* one session-object copy, used by every thread */
    BENCH_RAW_COPY_OF_COPY, /* a copy per thread, each made from a copy */
    BENCH_RAW_COPY_OF_TOKEN, /* a copy per thread, made from the token object */
    BENCH_RAW_NPATHS
};
extern const char *const bench_raw_path_names[BENCH_RAW_NPATHS];
struct bench_raw;
struct bench_raw *bench_raw_new(const struct bench_cfg *cfg,
                                const struct bench_alg *alg, int nthreads,
                                enum bench_raw_path path,
                                struct bench_mode *mode);
void bench_raw_free(struct bench_raw *raw);

/* raw.c: the token straight through the module, for the load parts. */
CK_FUNCTION_LIST *bench_module(const char *path);
CK_SLOT_ID bench_slot(CK_FUNCTION_LIST *fn, const char *label);
/* A logged-in session on the token (kept open: it keeps the login). */
CK_SESSION_HANDLE bench_login(const struct bench_cfg *cfg, const char *token);
/* n more (data) objects on the token. */
int bench_add_objects(const struct bench_cfg *cfg, int n);
/* n more P-256 key pairs "<prefix>-<i>" (i from first) on the token. */
int bench_add_keys(const struct bench_cfg *cfg, const char *token,
                   const char *prefix, int first, int n);
/* The token's own search for one private key by label (ms of CPU, median
 * of reps). */
double bench_raw_find_ms(const struct bench_cfg *cfg, const char *token,
                         const char *label, int reps);

/* evp.c: EVP_DigestSign on a key loaded by URI through the provider, or on
 * a software key of the same type; ctx must live while the mode is used. */
struct bench_evp {
    EVP_PKEY *key;
    const struct bench_alg *alg;
};
struct bench_mode bench_evp_mode(struct bench_evp *ctx);
/* The same without the signature: fetch, contexts, hashing, free. */
struct bench_mode bench_evp_no_sign_mode(struct bench_evp *ctx);
EVP_PKEY *bench_load_key(const char *uri);
/* One EVP_DigestSign as above; 1 on success.  With sig non-NULL the
 * signature and its message are returned too. */
int bench_evp_sign(EVP_PKEY *key, const struct bench_alg *alg);
int bench_evp_sign_msg(EVP_PKEY *key, const struct bench_alg *alg,
                       const unsigned char *msg, size_t msglen,
                       unsigned char *sig, size_t *siglen);
/* The public half in the default provider, and a software verification. */
EVP_PKEY *bench_public(EVP_PKEY *key);
int bench_verify(EVP_PKEY *pub, const struct bench_alg *alg,
                 const unsigned char *msg, size_t msglen,
                 const unsigned char *sig, size_t siglen);
EVP_PKEY *bench_software_key(const struct bench_alg *alg);
void bench_uri(const struct bench_cfg *cfg, const char *label, char *buf,
               size_t len);

/* prepared.c: a software key with its context prepared once per thread. */
struct bench_prepared;
struct bench_prepared *bench_prepared_new(EVP_PKEY *key,
                                          const struct bench_alg *alg,
                                          int nthreads,
                                          struct bench_mode *mode);
void bench_prepared_free(struct bench_prepared *p);

/* sign.c: the signing tables (raw paths, provider against the best);
 * limit[] and soft[] get, per algorithm, the CPU seconds per signature at
 * 1 thread of the best raw path and of the software key. */
void bench_signing(const struct bench_cfg *cfg, const char *only,
                   double limit[], double soft[]);
/* instant.c: the provider's own cost on a token that signs instantly. */
int bench_instant(const struct bench_cfg *cfg, const char *only);
/* throughput.c: 32 threads signing through the provider. */
int bench_throughput(const struct bench_cfg *cfg, int nthreads);

/* tls.c: full TLS 1.3 handshakes, in process over memory BIOs, the
 * server's key on the token or on disk, in interleaved rounds; limit[] and
 * soft[] from bench_signing. */
void bench_handshakes(const struct bench_cfg *cfg, const double limit[],
                      const double soft[]);

/* count.c: token calls per signature through the counting shim. */
int bench_count_calls(const struct bench_cfg *cfg, int n);

/* load.c: milliseconds of CPU to load a key by URI: cold in a new process
 * (module start and login included), warm as the median of repeated loads
 * in this one. */
double bench_load_cold(const char *self, const char *uri);
double bench_load_warm(const char *uri);
/* First load of each of these keys in this (running) process, median;
 * form (0-2) picks a URI spelling not used before. */
double bench_load_first(const char *token, const char *const *labels, int n,
                        int form);
double bench_load_once(const char *uri);
/* The table of loads with 1, 100 and 1000 objects added to the token. */
void bench_loads(const struct bench_cfg *cfg, const char *self);

/* manykeys.c: K distinct keys from a token of N objects, each K in a new
 * process (self --load-keys K); the child's side is bench_load_keys. */
int bench_many_keys(const struct bench_cfg *cfg, const char *self,
                    const char *token);
int bench_load_keys(const struct bench_cfg *cfg, const char *token, int k,
                    int nkeys);
/* The C_FindObjectsInit calls of 1, 10 and 100 of those loads with 1000
 * objects, the provider on the counting shim. */
int bench_count_finds(const char *self, const char *token);

#endif
