/* SPDX-License-Identifier: Apache-2.0 */
/* effects.c -- what an injected failure does to the real token, so the state
 * the application sees stays what a real token would show after it:
 *
 *   CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED
 *       that session is dead from then on (sessions.c);
 *   CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT
 *       every session of the slot is dead and the slot is logged out
 *       (sessions.c; the slot of a session is the one it was opened on);
 *   anything else, on a call that ends an operation when it fails
 *   (C_Sign, C_SignUpdate, C_Decrypt, C_FindObjects, ... fns.h column op)
 *       the operation is ended on the real session too, by finishing it with
 *       scratch buffers, so the next C_SignInit does not get
 *       CKR_OPERATION_ACTIVE from the real module.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

typedef CK_RV final_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                       CK_ULONG_PTR out_len);
typedef CK_RV oneshot_fn(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                         CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* Call F the two-step way (length, then output) into scratch memory. */
static void finish_final(final_fn *f, CK_SESSION_HANDLE h)
{
    CK_ULONG n = 0;
    CK_BYTE *buf;

    if (f(h, NULL, &n) != CKR_OK)
        return;
    buf = malloc(n + 1);
    if (buf != NULL) {
        n++;
        (void)f(h, buf, &n);
    }
    free(buf);
}

/* A single-part operation has no Final: run it once on a dummy digest-sized
 * input; success or failure, that ends it. */
static void finish_oneshot(oneshot_fn *f, CK_SESSION_HANDLE h)
{
    CK_BYTE in[32] = {0};
    CK_ULONG n = 0;
    CK_BYTE *buf;

    if (f(h, in, sizeof(in), NULL, &n) != CKR_OK)
        return;
    buf = malloc(n + 1);
    if (buf != NULL) {
        n++;
        (void)f(h, in, sizeof(in), buf, &n);
    }
    free(buf);
}

static void end_operation(CK_FUNCTION_LIST_PTR real, enum shim_op op,
                          CK_SESSION_HANDLE h)
{
    CK_BYTE dummy[1] = {0};

    switch (op) {
    case SHIM_OP_FIND:
        (void)real->C_FindObjectsFinal(h);
        break;
    case SHIM_OP_ENCRYPT:
        finish_final(real->C_EncryptFinal, h);
        finish_oneshot(real->C_Encrypt, h);
        break;
    case SHIM_OP_DECRYPT:
        finish_final(real->C_DecryptFinal, h);
        finish_oneshot(real->C_Decrypt, h);
        break;
    case SHIM_OP_DIGEST:
        finish_final(real->C_DigestFinal, h);
        finish_oneshot(real->C_Digest, h);
        break;
    case SHIM_OP_SIGN:
        finish_final(real->C_SignFinal, h);
        finish_oneshot(real->C_Sign, h);
        break;
    case SHIM_OP_SIGN_RECOVER:
        finish_oneshot(real->C_SignRecover, h);
        break;
    case SHIM_OP_VERIFY:
        (void)real->C_VerifyFinal(h, dummy, sizeof(dummy));
        (void)real->C_Verify(h, dummy, sizeof(dummy), dummy, sizeof(dummy));
        break;
    case SHIM_OP_VERIFY_RECOVER:
        finish_oneshot(real->C_VerifyRecover, h);
        break;
    case SHIM_OP_NONE:
        break;
    }
}

int shim_rv_is_removal(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

static void token_removed(CK_FUNCTION_LIST_PTR real, enum shim_kind kind,
                          CK_ULONG handle)
{
    CK_SESSION_INFO info;
    CK_SLOT_ID slot;

    switch (kind) {
    case SHIM_KIND_SLOT:
        shim_slot_removed(1, handle);
        break;
    case SHIM_KIND_SESS:
        if (shim_sess_slot(handle, &slot)) {
            shim_slot_removed(1, slot);
        } else if (real->C_GetSessionInfo(handle, &info) == CKR_OK) {
            shim_slot_removed(1, info.slotID);
            shim_sess_kill(handle);
        } else {
            shim_sess_kill(handle);
        }
        break;
    case SHIM_KIND_NONE:
        shim_slot_removed(0, 0);
        break;
    }
}

void shim_effects_apply(CK_FUNCTION_LIST_PTR real, enum shim_fn_index fn,
                        CK_ULONG handle, CK_RV rv)
{
    enum shim_kind kind = shim_fns[fn].kind;

    if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
        if (kind == SHIM_KIND_SESS)
            shim_sess_kill(handle);
    } else if (shim_rv_is_removal(rv)) {
        token_removed(real, kind, handle);
    } else if (kind == SHIM_KIND_SESS) {
        end_operation(real, shim_fns[fn].op, handle);
    }
}
