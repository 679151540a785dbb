/* SPDX-License-Identifier: Apache-2.0 */
/*
 * prov_faults.h - shared by prov_faults.c (one thread) and prov_faults_mt.c
 * (threads): the key under test and the figures of the run.
 */
#ifndef HSMKEY_TESTS_PROV_FAULTS_H
#define HSMKEY_TESTS_PROV_FAULTS_H

#include "prov_util.h"

struct tf_fixture {
    const char *uri, *label;
    EVP_PKEY *key, *pub;
    struct tc_counts zero;
    unsigned long injected; /* faults the shim injected */
    int survived;           /* signatures that succeeded despite a fault */
    int failed;             /* signatures that failed cleanly, as expected */
    int signed_ok;          /* signatures that succeeded */
};
extern struct tf_fixture tf;

/* Open the shim, load the key, sign a few times without faults. */
void tf_setup(const char *uri);
void tf_teardown(void);

/* prov_faults_mt.c: each returns the exit status. */
int tf_stall(const char *uri);
int tf_pull_threads(const char *uri);
int tf_soak(const char *uri);

/* prov_faults_pin.c */
int tf_pin(const char *uri, const char *wrong_pin_file);
int tf_pin_sign(const char *uri);

/* prov_faults_load.c */
int tf_attrs(const char *uri, int fallback);

#endif
