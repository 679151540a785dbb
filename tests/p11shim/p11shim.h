/* SPDX-License-Identifier: Apache-2.0 */
/* p11shim.h -- in-process API of hsmkey-p11shim.so, the fault-injecting,
 * call-counting PKCS#11 module of the hsmkey tests (tests/p11shim/README).
 *
 * The shim is a shared module loaded with dlopen() (directly, or by p11-kit
 * or the provider as their PKCS#11 module), so its functions are found with
 * dlsym(); the same path gives the same loaded copy, and the module stays
 * resident once loaded (-z nodelete):
 *
 *     void *so = dlopen(".../hsmkey-p11shim.so", RTLD_NOW | RTLD_NOLOAD);
 *     hsmkey_shim_counts_fn *counts =
 *         (hsmkey_shim_counts_fn *)dlsym(so, HSMKEY_SHIM_COUNTS_SYM);
 *     hsmkey_shim_reset_fn *reset =
 *         (hsmkey_shim_reset_fn *)dlsym(so, HSMKEY_SHIM_RESET_SYM);
 *     reset();
 *     ... N signatures ...
 *     double per_sig = (counts("C_SignInit") + counts("C_Sign")) / N;
 *
 * Counters are per process: they start at zero when the module is loaded and
 * again in the child after fork(), and count every call made to the shim,
 * whether forwarded or answered with an injected fault.
 */
#ifndef HSMKEY_P11SHIM_H
#define HSMKEY_P11SHIM_H

/* Calls of FN made so far in this process: FN is a PKCS#11 function name
 * ("C_Sign"), or one of
 *   "total"   all calls;
 *   "faults"  calls answered with an injected CKR by a fault rule;
 *   "stalls"  calls delayed by a stall rule;
 *   "stale"   calls refused (CKR_SESSION_HANDLE_INVALID) because they used a
 *             session the shim had invalidated;
 *   "limited" calls refused by a limit of HSMKEY_SHIM_LIMITS;
 *   "instant" C_Sign calls answered from a recording (HSMKEY_SHIM_INSTANT);
 * or one of the two gauges of what the token holds for this process now:
 *   "sessions_open"    sessions opened and not closed, not counting those
 *                      the shim declared dead;
 *   "session_objects"  session objects made in live sessions and neither
 *                      destroyed nor gone with their session.
 * Unknown names count 0. Thread-safe, lock-free. */
unsigned long hsmkey_shim_counts(const char *fn);

/* Zero every counter (not the gauges, nor the fault rules' own progress). */
void hsmkey_shim_reset(void);

/* Write the counts file now, to PATH or (NULL) to $HSMKEY_SHIM_COUNTS.
 * Returns 0, or -1 with errno set (no path: EINVAL). */
int hsmkey_shim_counts_write(const char *path);

#define HSMKEY_SHIM_COUNTS_SYM "hsmkey_shim_counts"
#define HSMKEY_SHIM_RESET_SYM "hsmkey_shim_reset"
#define HSMKEY_SHIM_WRITE_SYM "hsmkey_shim_counts_write"
typedef unsigned long hsmkey_shim_counts_fn(const char *fn);
typedef void hsmkey_shim_reset_fn(void);
typedef int hsmkey_shim_counts_write_fn(const char *path);

#endif
