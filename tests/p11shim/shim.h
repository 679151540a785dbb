/* SPDX-License-Identifier: Apache-2.0 */
/* shim.h -- internal interface between the files of hsmkey-p11shim.so.
 * The public side (for tests and the benchmark) is p11shim.h.
 */
#ifndef HSMKEY_P11SHIM_SHIM_H
#define HSMKEY_P11SHIM_SHIM_H

#include <stdatomic.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#define SHIM_EXPORT __attribute__((visibility("default")))
/* One line on stderr: "hsmkey-p11shim: " FMT "\n". */
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Index of each function: SHIM_C_Sign, ...; SHIM_NFNS of them. */
enum shim_fn_index {
#define SHIM_FN(name, kind, op, params, args) SHIM_##name,
#define SHIM_OWN(name, kind, op) SHIM_##name,
#include "fns.h"
#undef SHIM_FN
#undef SHIM_OWN
    SHIM_NFNS
};

enum shim_kind { SHIM_KIND_NONE, SHIM_KIND_SESS, SHIM_KIND_SLOT };

/* The operation a failed call terminates (fns.h, column op). */
enum shim_op {
    SHIM_OP_NONE,
    SHIM_OP_FIND,
    SHIM_OP_ENCRYPT,
    SHIM_OP_DECRYPT,
    SHIM_OP_DIGEST,
    SHIM_OP_SIGN,
    SHIM_OP_SIGN_RECOVER,
    SHIM_OP_VERIFY,
    SHIM_OP_VERIFY_RECOVER
};

struct shim_fn_info {
    const char *name;
    enum shim_kind kind;
    enum shim_op op;
};
extern const struct shim_fn_info shim_fns[SHIM_NFNS];

/* shim.c: the real module (NULL before the first C_Initialize). */
CK_FUNCTION_LIST_PTR shim_real(void);

/* Every call starts here: counts it, refuses a session the shim has
 * invalidated, applies the fault rules (stall, then the first failure with its
 * side effects on the real token). Returns the real module, and in *rv the CKR
 * the call must return instead of forwarding, or CKR_OK to forward. */
CK_FUNCTION_LIST_PTR shim_enter(enum shim_fn_index fn, CK_ULONG handle,
                                CK_RV *rv);

/* True for the two faults that mean "the token went away". */
int shim_rv_is_removal(CK_RV rv);

/* counts.c */
void shim_count(enum shim_fn_index fn);
void shim_count_fault(void);
void shim_count_stall(void);
void shim_count_stale(void);
void shim_count_limited(void); /* a call refused by HSMKEY_SHIM_LIMITS */
void shim_count_instant(void); /* a C_Sign answered from a recording */
void shim_counts_zero(void);
/* Note $HSMKEY_SHIM_COUNTS (at the first C_Initialize, under the load lock). */
void shim_counts_init(void);
/* Write the counts file named by HSMKEY_SHIM_COUNTS now; with changed_only,
 * only if some counter moved since the last write. Returns 0 or -1. */
int shim_counts_flush(int changed_only);

/* faults.c: a parsed set of rules, immutable but for its hit counters. */
struct shim_rules;
struct shim_verdict {
    CK_RV rv;               /* CKR_OK: no failure */
    unsigned long stall_ms; /* sum of the stalls that fired */
};
/* Parse SPEC (rules separated by ',' or newlines, '#' comments); a bad rule
 * is reported on stderr naming ORIGIN and skipped, and counted in *bad.
 * Returns NULL for an empty set (or no memory). */
struct shim_rules *shim_rules_parse(const char *spec, const char *origin,
                                    int *bad);
void shim_rules_eval(struct shim_rules *rules, enum shim_fn_index fn,
                     struct shim_verdict *v);
void shim_rules_reset_hits(struct shim_rules *rules);
/* Keep RULES reachable until exit: readers may still hold it. */
void shim_rules_retire(struct shim_rules *rules);

/* control.c: env rules, the control file and its poller thread. */
void shim_control_init(void); /* at C_Initialize, under the load lock */
int shim_control_bad(void);   /* malformed rules seen at init */
void shim_control_eval(enum shim_fn_index fn, struct shim_verdict *v);
void shim_control_atfork_prepare(void);
void shim_control_atfork_parent(void);
void shim_control_atfork_child(void);

/* sessions.c: sessions and their session objects, the sessions the shim
 * invalidated, slots it "removed". A C_OpenSession first reserves its place
 * (CKR_SESSION_COUNT when a limit is reached), then either opened or
 * unreserve. */
CK_RV shim_sess_reserve(int rw);
void shim_sess_unreserve(int rw);
void shim_sess_opened(CK_SLOT_ID slot, CK_SESSION_HANDLE h, int rw);
void shim_sess_closed(CK_SESSION_HANDLE h);
void shim_sess_closed_slot(CK_SLOT_ID slot);
int shim_sess_is_dead(CK_SESSION_HANDLE h);
void shim_sess_kill(CK_SESSION_HANDLE h);
/* The token in SLOT went away: its sessions die and the next session opened
 * there starts logged out. slot_known 0: every slot. */
void shim_slot_removed(int slot_known, CK_SLOT_ID slot);
int shim_slot_take_logout(CK_SLOT_ID slot);
int shim_sess_slot(CK_SESSION_HANDLE h, CK_SLOT_ID *slot);
/* C_Finalize closed every session: forget them. */
void shim_sess_forget_all(void);
/* Live sessions (all, read/write; rw may be NULL) and session objects. */
void shim_sess_live(unsigned long *sessions, unsigned long *rw);
unsigned long shim_obj_live(void);
/* A session object OBJ was made in session H; OBJ was destroyed. */
void shim_obj_created(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj);
void shim_obj_destroyed(CK_OBJECT_HANDLE obj);
void shim_sess_atfork_prepare(void);
void shim_sess_atfork_parent(void);
void shim_sess_atfork_child(void);

/* slots.c: the hand-written entries of the function list. */
CK_RV shim_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n);
CK_RV shim_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info);
CK_RV shim_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info);
CK_RV shim_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                         CK_NOTIFY notify, CK_SESSION_HANDLE_PTR h);
CK_RV shim_C_CloseSession(CK_SESSION_HANDLE h);
CK_RV shim_C_CloseAllSessions(CK_SLOT_ID slot);

/* objects.c: the calls that make and destroy objects. */
CK_RV shim_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                          CK_ULONG n, CK_OBJECT_HANDLE_PTR obj);
CK_RV shim_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
                        CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE_PTR copy);
CK_RV shim_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj);
CK_RV shim_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                         CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR key);
CK_RV shim_C_GenerateKeyPair(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                             CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG pub_n,
                             CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG priv_n,
                             CK_OBJECT_HANDLE_PTR pub,
                             CK_OBJECT_HANDLE_PTR priv);
CK_RV shim_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                       CK_OBJECT_HANDLE unwrap_key, CK_BYTE_PTR in,
                       CK_ULONG in_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE_PTR key);
CK_RV shim_C_DeriveKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                       CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl,
                       CK_ULONG n, CK_OBJECT_HANDLE_PTR key);

/* limits.c: $HSMKEY_SHIM_LIMITS, parsed at the first C_Initialize (under
 * the load lock). Zero: no limit. */
struct shim_limits {
    unsigned long sessions, rw_sessions;
    int readonly, no_copy;
};
void shim_limits_init(void);
int shim_limits_bad(void);
const struct shim_limits *shim_limits(void);
/* Patch what C_GetTokenInfo reports: limits, counts, CKF_WRITE_PROTECTED. */
void shim_limits_token_info(CK_TOKEN_INFO_PTR info);

/* instant.c: the signature calls; with HSMKEY_SHIM_INSTANT=1 a token that
 * answers repeated signatures from what it recorded. */
/* At C_Initialize, under the load lock; reads the environment once. */
void shim_instant_init(void);
void shim_instant_session_opened(CK_SESSION_HANDLE h);
/* The object KEY is gone (its handle may be reused): drop its recordings. */
void shim_instant_forget_key(CK_OBJECT_HANDLE key);
void shim_instant_forget_all(void);
CK_RV shim_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech,
                      CK_OBJECT_HANDLE key);
CK_RV shim_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                  CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV shim_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV shim_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                       CK_ULONG_PTR out_len);

/* effects.c: what an injected failure does to the real token. */
void shim_effects_apply(CK_FUNCTION_LIST_PTR real, enum shim_fn_index fn,
                        CK_ULONG handle, CK_RV rv);

#endif
