/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_loop.c - a long-running signer, as a server signs handshakes: one
 * key, one signature after another, until told to stop, whatever happens
 * to the token meanwhile (remote_token.sh restarts the p11-kit server under
 * it).
 *
 *   prov_loop URI STATUS STOP [PAUSE-MS]
 *
 * After every signature (and a pause, default 2 ms) STATUS is replaced with
 *   ok=N fail=M run=K outages=O
 * (run: consecutive successes so far, 0 after a failure; outages: runs of
 * failures).  It stops once the file STOP exists, prints the figures (each
 * outage: when it began, the first and last error, how long it lasted) and
 * exits 0 when the last signature succeeded.  The key is loaded once,
 * before the loop: a server does not reload its key when the token
 * restarts.
 *
 * It never runs longer than TL_MAX_MS (a test that lost track of it).
 *
 * SIGPIPE is ignored, as servers (nginx, Python, Node.js) do: p11-kit's
 * client module writes to its socket without MSG_NOSIGNAL, so a program
 * that keeps the default action dies silently (status 141) at its first
 * call after the p11-kit server went away.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>

#include "prov_util.h"

#define TL_MAX_MS (10 * 60 * 1000.0)

static void write_status(const char *path, long ok, long fail, long run,
                         long outages)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    TC_CHECK(f != NULL, "cannot write %s", tmp);
    fprintf(f, "ok=%ld fail=%ld run=%ld outages=%ld\n", ok, fail, run,
            outages);
    TC_CHECK(fclose(f) == 0 && rename(tmp, path) == 0, "rename %s", tmp);
}

int main(int argc, char **argv)
{
    long ok = 0, fail = 0, run = 0, outages = 0, pause_ms, changes = 0;
    double out_start = 0, longest = 0, t0 = tc_now_ms();
    char err[2048], last_err[2048] = "";
    EVP_PKEY *key, *pub;

    if (argc < 4) {
        fprintf(stderr, "usage: see the header of prov_loop.c\n");
        return 2;
    }
    pause_ms = argc > 4 ? atol(argv[4]) : 2;
    signal(SIGPIPE, SIG_IGN);
    key = tc_load_key(argv[1]);
    pub = key != NULL ? tc_public(key) : NULL;
    TC_CHECK(pub != NULL, "cannot load %s: %s", argv[1],
             tc_errors(err, sizeof(err)));
    while (access(argv[3], F_OK) != 0) {
        TC_CHECK(tc_now_ms() - t0 < TL_MAX_MS, "still running after %.0f s",
                 TL_MAX_MS / 1e3);
        if (tc_sign(key, pub)) {
            if (run == 0 && fail > 0) {
                double ms = tc_now_ms() - out_start;

                printf("outage %ld: %.0f ms; last error: %s\n", outages, ms,
                       last_err);
                if (ms > longest)
                    longest = ms;
            }
            ok++;
            run++;
        } else {
            tc_errors(err, sizeof(err));
            if (run > 0 || fail == 0) { /* a new outage */
                outages++;
                out_start = tc_now_ms();
                printf("outage %ld begins after %ld signatures: %s\n",
                       outages, ok, err);
            }
            else if (strcmp(err, last_err) != 0 && changes++ < 10)
                printf("  then: %s\n", err);
            snprintf(last_err, sizeof(last_err), "%s", err);
            fail++;
            run = 0;
        }
        write_status(argv[2], ok, fail, run, outages);
        fflush(stdout);
        if (pause_ms > 0)
            tc_sleep_ms(pause_ms);
    }
    printf("loop %s: %ld signatures succeeded, %ld failed in %ld outages "
           "(longest %.0f ms); the last %ld in a row succeeded\n",
           argv[1], ok, fail, outages, longest, run);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return run > 0 ? 0 : 1;
}
