/* SPDX-License-Identifier: Apache-2.0 */
/*
 * call.c - how the core calls a PKCS#11 module: through a gate, inside a
 * fence, and what the answer says was lost.
 *
 * The gate is a per-core rwlock.  Module calls hold it shared for the
 * length of one short sequence (C_SignInit + C_Sign, one search); the
 * lifecycle (C_Initialize, C_Finalize, a rescan that resets tokens, fork)
 * holds it exclusive.  So no module is finalized, and no process forks,
 * while another thread is inside the module: a forked child never inherits
 * a module mutex that a parent thread held mid-call.  Nothing else is held
 * while waiting for the gate (docs/DESIGN.md, lock order), and no thread
 * takes it twice: only the code here takes it.
 *
 * The fence keeps what the module leaves behind away from the caller:
 * modules built on OpenSSL (SoftHSM2) push their own errors onto the
 * application's error queue, and errno is the caller's (Python reads it).
 */
#include <errno.h>

#include "core.h"

/* Inside a module call or lifecycle work: the fork handlers must not wait
 * for the gate this thread holds (a module that forks a helper). */
static _Thread_local int call_depth;

int hsmkey_call_depth(void)
{
    return call_depth;
}

/* Writers first: a waiting C_Finalize or fork is not starved by a busy
 * server.  Safe because no thread takes the gate twice. */
void hsmkey_gate_init(struct hsmkey_gate *g)
{
    pthread_rwlockattr_t attr;

    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void hsmkey_gate_destroy(struct hsmkey_gate *g)
{
    pthread_rwlock_destroy(&g->lock);
}

void hsmkey_gate_close(struct hsmkey_gate *g)
{
    pthread_rwlock_wrlock(&g->lock);
    call_depth++;
}

void hsmkey_gate_reopen(struct hsmkey_gate *g)
{
    call_depth--;
    pthread_rwlock_unlock(&g->lock);
}

/* The fork handlers hold every gate closed across fork(): the forking
 * thread's depth is not counted, since it is not inside a module. */
void hsmkey_gate_close_for_fork(struct hsmkey_gate *g)
{
    pthread_rwlock_wrlock(&g->lock);
}

void hsmkey_gate_reopen_after_fork(struct hsmkey_gate *g)
{
    pthread_rwlock_unlock(&g->lock);
}

/* glibc knows a writer by its thread id, which the child's thread does not
 * have: the child's gate starts afresh instead (no other thread exists
 * there to hold it). */
void hsmkey_gate_reopen_in_child(struct hsmkey_gate *g)
{
    hsmkey_gate_init(g);
}

/* The gate shared without a fence: for reading what lifecycle work
 * writes (the token list, the module set), calling no module. */
void hsmkey_gate_share(struct hsmkey_gate *g)
{
    pthread_rwlock_rdlock(&g->lock);
}

void hsmkey_gate_unshare(struct hsmkey_gate *g)
{
    pthread_rwlock_unlock(&g->lock);
}

void hsmkey_fence_begin(struct hsmkey_fence *f)
{
    f->saved_errno = errno;
    hsmkey_err_set_mark();
}

void hsmkey_fence_end(struct hsmkey_fence *f)
{
    hsmkey_err_pop_to_mark();
    errno = f->saved_errno;
}

void hsmkey_call_begin(struct hsmkey_gate *g, struct hsmkey_fence *f)
{
    pthread_rwlock_rdlock(&g->lock);
    call_depth++;
    hsmkey_fence_begin(f);
}

void hsmkey_call_end(struct hsmkey_gate *g, struct hsmkey_fence *f)
{
    hsmkey_fence_end(f);
    call_depth--;
    pthread_rwlock_unlock(&g->lock);
}

enum hsmkey_loss hsmkey_ckr_loss(CK_RV rv)
{
    switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case HSMKEY_CKR_STALE:
        return HSMKEY_LOST_SESSION;
    /* The token logged us out (its last session closed, it restarted) or
     * dropped the handles of private objects: log in, find the key again. */
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
        return HSMKEY_LOST_LOGIN;
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:
        return HSMKEY_LOST_TOKEN;
    default:
        return HSMKEY_LOST_NOTHING;
    }
}
