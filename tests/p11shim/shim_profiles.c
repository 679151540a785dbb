/* SPDX-License-Identifier: Apache-2.0 */
/* shim_profiles.c -- drives hsmkey-p11shim.so through dlopen and checks its
 * real-HSM limits (HSMKEY_SHIM_LIMITS), its live accounting of sessions and
 * session objects, and its instant token (HSMKEY_SHIM_INSTANT).
 *
 * usage: shim_profiles SHIM.so TOKEN-LABEL PIN-FILE WORKDIR MODE
 *   MODE  sessions | readonly | no-copy | accounting | instant
 * Each mode sets the environment it needs before the shim is loaded (limits
 * and instant mode are read once per process). SOFTHSM2_CONF must name a
 * token made by softhsm-conf/mktoken.sh. Prints "ok N name" per test; the
 * first failed check prints "FAIL ..." and exits 1. The tests are in
 * profile_limits.c, profile_accounting.c and profile_instant.c.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_test.h"

/* Each profile and the environment it needs before the shim is loaded. */
static const struct {
    const char *mode, *limits, *instant;
    void (*run)(const char *label);
} modes[] = {
    {"sessions", "sessions=4, rw-sessions=2", NULL, prof_sessions},
    {"readonly", "readonly", NULL, prof_readonly},
    {"no-copy", "no-copy", NULL, prof_no_copy},
    {"accounting", NULL, NULL, prof_accounting},
    {"instant", NULL, "1", prof_instant},
};

int main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_C_GetFunctionList get_list;
    char path[4096];
    size_t m;
    void *so;
    FILE *f;

    CHECK(argc == 6, "usage: shim_profiles SHIM.so LABEL PIN-FILE WORKDIR "
                     "MODE");
    for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
        if (strcmp(argv[5], modes[m].mode) == 0)
            break;
    CHECK(m < sizeof(modes) / sizeof(modes[0]), "unknown mode %s", argv[5]);
    f = fopen(argv[3], "r");
    CHECK(f != NULL && fgets(st_pin, sizeof(st_pin), f) != NULL, "pin file");
    fclose(f);
    st_pin[strcspn(st_pin, "\r\n")] = '\0';
    snprintf(st_workdir, sizeof(st_workdir), "%s", argv[4]);
    snprintf(st_control, sizeof(st_control), "%s/control", st_workdir);
    snprintf(path, sizeof(path), "%s/counts.%%p", st_workdir);
    setenv("HSMKEY_SHIM_CONTROL", st_control, 1);
    setenv("HSMKEY_SHIM_COUNTS", path, 1);
    setenv("HSMKEY_SHIM_STRICT", "1", 1);
    unsetenv("HSMKEY_SHIM_FAULTS");
    if (modes[m].limits != NULL)
        setenv("HSMKEY_SHIM_LIMITS", modes[m].limits, 1);
    else
        unsetenv("HSMKEY_SHIM_LIMITS");
    if (modes[m].instant != NULL)
        setenv("HSMKEY_SHIM_INSTANT", modes[m].instant, 1);
    else
        unsetenv("HSMKEY_SHIM_INSTANT");

    so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK(so != NULL, "%s", dlerror());
    *(void **)&get_list = dlsym(so, "C_GetFunctionList");
    *(void **)&st_counts = dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
    *(void **)&st_reset = dlsym(so, HSMKEY_SHIM_RESET_SYM);
    CHECK(get_list != NULL && st_counts != NULL && st_reset != NULL, "symbols");
    CHECK_RV(get_list(&st_p11), CKR_OK);
    CHECK_RV(st_p11->C_Initialize(&args), CKR_OK);
    st_find_slot(argv[2]);
    modes[m].run(argv[2]);
    printf("%d passed, 0 failed\n", st_passed());
    return 0;
}
