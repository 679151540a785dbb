/* SPDX-License-Identifier: Apache-2.0 */
/* slots.c -- the calls of hsmkey-p11shim.so that see slots, tokens and
 * session lifetimes, written by hand rather than generated.
 *
 * While a CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT rule fires on them they
 * show the token as absent, as a real slot does after its token is pulled:
 *   C_GetSlotList(TRUE)   no slot;       C_GetSlotList(FALSE)  every slot
 *   C_GetSlotInfo         CKF_TOKEN_PRESENT cleared
 *   C_GetTokenInfo, C_OpenSession   CKR_TOKEN_NOT_PRESENT
 * C_OpenSession records the session (sessions.c) and logs out a slot whose
 * token was "removed"; C_CloseSession and C_CloseAllSessions always close the
 * real sessions, even dead ones, and then report the injected result if any.
 * The limits of HSMKEY_SHIM_LIMITS (limits.c) show in C_GetTokenInfo and
 * refuse C_OpenSession.
 */
#include "shim.h"

CK_RV shim_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_GetSlotList, 0, &rv);

    if (real == NULL)
        return rv;
    if (shim_rv_is_removal(rv) && present) {
        if (n == NULL)
            return CKR_ARGUMENTS_BAD;
        *n = 0;
        return CKR_OK;
    }
    if (rv != CKR_OK && !shim_rv_is_removal(rv))
        return rv;
    return real->C_GetSlotList(present, list, n);
}

CK_RV shim_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_GetSlotInfo, slot, &rv);
    int removed = shim_rv_is_removal(rv);

    if (real == NULL || (rv != CKR_OK && !removed))
        return rv;
    rv = real->C_GetSlotInfo(slot, info);
    if (rv == CKR_OK && removed)
        info->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
    return rv;
}

CK_RV shim_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_GetTokenInfo, slot, &rv);

    if (shim_rv_is_removal(rv))
        return CKR_TOKEN_NOT_PRESENT;
    if (real == NULL || rv != CKR_OK)
        return rv;
    rv = real->C_GetTokenInfo(slot, info);
    if (rv == CKR_OK)
        shim_limits_token_info(info);
    return rv;
}

CK_RV shim_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                         CK_NOTIFY notify, CK_SESSION_HANDLE_PTR h)
{
    CK_RV rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_OpenSession, slot, &rv);

    if (shim_rv_is_removal(rv))
        return CKR_TOKEN_NOT_PRESENT;
    int rw = (flags & CKF_RW_SESSION) != 0;

    if (real == NULL || rv != CKR_OK)
        return rv;
    if (rw && shim_limits()->readonly) {
        shim_count_limited();
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if ((rv = shim_sess_reserve(rw)) != CKR_OK) {
        shim_count_limited();
        return rv;
    }
    rv = real->C_OpenSession(slot, flags, app, notify, h);
    if (rv != CKR_OK) {
        shim_sess_unreserve(rw);
        return rv;
    }
    shim_sess_opened(slot, *h, rw);
    shim_instant_session_opened(*h);
    /* First session since the token "came back": the login is gone. */
    if (shim_slot_take_logout(slot))
        (void)real->C_Logout(*h);
    return CKR_OK;
}

CK_RV shim_C_CloseSession(CK_SESSION_HANDLE h)
{
    CK_RV rv, real_rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_CloseSession, h, &rv);

    if (real == NULL)
        return rv;
    real_rv = real->C_CloseSession(h);
    shim_sess_closed(h);
    return rv != CKR_OK ? rv : real_rv;
}

CK_RV shim_C_CloseAllSessions(CK_SLOT_ID slot)
{
    CK_RV rv, real_rv;
    CK_FUNCTION_LIST_PTR real = shim_enter(SHIM_C_CloseAllSessions, slot, &rv);

    if (real == NULL)
        return rv;
    real_rv = real->C_CloseAllSessions(slot);
    shim_sess_closed_slot(slot);
    return rv != CKR_OK ? rv : real_rv;
}
