/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - hsmkey-bench: signing rates on the token's raw paths, through the
 * provider and in software at 1, 2 and 4 threads, TLS 1.3 handshakes, key
 * load times, throughput at 32 threads and many-key loads, printed as
 * Markdown tables.  Run by bench.sh, which makes the tokens and the
 * configuration and then runs the instant-token and call-count parts in
 * processes of their own; see BENCHMARKS.md.
 *
 *   hsmkey-bench [--seconds S] [--rounds N] [--threads T] [--no-load]
 *                [--no-throughput] [--part PART]
 *   hsmkey-bench --only TEXT ...   (signing rows of the algorithms whose
 *                                   name contains TEXT: for profiling)
 *   PART: signing (with TLS), loads, throughput or many-keys alone
 *   hsmkey-bench --instant ...     (the provider on the instant shim)
 *   hsmkey-bench --count-calls N   (provider on the counting shim)
 *   hsmkey-bench --count-finds ... (many-key searches, on the shim)
 *   hsmkey-bench --load-once URI   (internal: one cold load, prints ms)
 *   hsmkey-bench --load-keys TOKEN K NKEYS   (internal: many-key loads)
 *
 * Environment: OPENSSL_CONF (loads default + hsmkey), HSMKEY_BENCH_MODULE,
 * HSMKEY_BENCH_TOKEN, HSMKEY_BENCH_PIN, HSMKEY_BENCH_MANY (the token for
 * many keys), HSMKEY_BENCH_SHIM (instant and count modes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const struct bench_alg bench_algs[] = {
    { "RSA-2048 PKCS#1 v1.5", "rsa-key", 0, 0 },
    { "RSA-2048 PSS", "rsa-key", 1, 0 },
    { "ECDSA P-256", "ec-key", 0, 0 },
    { "Ed25519", "ed-key", 0, 1 },
};
const size_t bench_nalgs = sizeof(bench_algs) / sizeof(bench_algs[0]);

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? v : dflt;
}

struct options {
    const char *only, *part;
    int load, throughput, threads, instant, count_finds;
};

/* Parse the options that tune a run; the internal modes run and exit. */
static int parse(int argc, char **argv, struct bench_cfg *cfg,
                 struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--load-once") == 0 && v != NULL) {
            printf("%f\n", bench_load_once(v));
            exit(0);
        } else if (strcmp(a, "--load-keys") == 0 && i + 3 < argc) {
            exit(bench_load_keys(cfg, v, atoi(argv[i + 2]),
                                 atoi(argv[i + 3])) ? 0 : 1);
        } else if (strcmp(a, "--count-calls") == 0 && v != NULL) {
            exit(bench_count_calls(cfg, atoi(v)) ? 0 : 1);
        } else if (strcmp(a, "--seconds") == 0 && v != NULL) {
            cfg->seconds = atof(argv[++i]);
        } else if (strcmp(a, "--rounds") == 0 && v != NULL) {
            cfg->rounds = atoi(argv[++i]);
        } else if (strcmp(a, "--threads") == 0 && v != NULL) {
            o->threads = atoi(argv[++i]);
        } else if (strcmp(a, "--only") == 0 && v != NULL) {
            o->only = argv[++i];
        } else if (strcmp(a, "--part") == 0 && v != NULL) {
            o->part = argv[++i];
        } else if (strcmp(a, "--instant") == 0) {
            o->instant = 1;
        } else if (strcmp(a, "--count-finds") == 0) {
            o->count_finds = 1;
        } else if (strcmp(a, "--no-load") == 0) {
            o->load = 0;
        } else if (strcmp(a, "--no-throughput") == 0) {
            o->throughput = 0;
        } else {
            fprintf(stderr, "usage: see the header of tests/bench/main.c\n");
            return 0;
        }
    }
    return cfg->seconds > 0 && cfg->rounds > 0 && o->threads > 0
           && o->threads <= BENCH_MAX_THREADS;
}

static int part(const struct options *o, const char *name)
{
    return o->part == NULL || strcmp(o->part, name) == 0;
}

int main(int argc, char **argv)
{
    struct bench_cfg cfg = {
        env_or("HSMKEY_BENCH_MODULE", "/usr/lib/softhsm/libsofthsm2.so"),
        env_or("HSMKEY_BENCH_TOKEN", "bench"),
        env_or("HSMKEY_BENCH_PIN", ""), 0.5, 5 };
    struct options o = { NULL, NULL, 1, 1, 32, 0, 0 };
    double limit[16], soft[16];
    int ok = 1;

    if (!parse(argc, argv, &cfg, &o))
        return 2;
    /* The instant token is the signing part's. */
    if (o.instant)
        return !part(&o, "signing") || bench_instant(&cfg, o.only) ? 0 : 1;
    /* On the token the many-keys part filled. */
    if (o.count_finds)
        return !o.load || !part(&o, "many-keys")
                       || bench_count_finds(argv[0],
                                            env_or("HSMKEY_BENCH_MANY",
                                                   "many"))
                   ? 0 : 1;
    if (part(&o, "signing")) {
        bench_signing(&cfg, o.only, limit, soft);
        if (o.only != NULL)
            return 0;
        bench_handshakes(&cfg, limit, soft);
    }
    if (o.load && part(&o, "loads"))
        bench_loads(&cfg, argv[0]);
    if (o.throughput && part(&o, "throughput"))
        ok = bench_throughput(&cfg, o.threads) && ok;
    if (o.load && part(&o, "many-keys"))
        ok = bench_many_keys(&cfg, argv[0],
                             env_or("HSMKEY_BENCH_MANY", "many")) && ok;
    return ok ? 0 : 1;
}
