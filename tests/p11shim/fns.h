/* SPDX-License-Identifier: Apache-2.0 */
/* fns.h -- the one table of the PKCS#11 2.40 functions the shim serves.
 *
 * An X-macro list: each user defines SHIM_FN and SHIM_OWN, includes this file
 * and gets one expansion per function (index enum, name table, forwarders).
 *
 *   SHIM_FN(name, kind, op, params, args)  forwarded by the generic wrapper
 *   SHIM_OWN(name, kind, op)               written by hand (shim.c, slots.c,
 *                                          objects.c, instant.c)
 *
 * kind: what the first argument is -- SESS (a session handle, named h),
 *       SLOT (a slot id, named slot) or NONE.
 * op:   the operation a failed call of this function terminates on the real
 *       session (SIGN, VERIFY, ENCRYPT, DECRYPT, DIGEST, FIND), so the shim can
 *       end it there too when it injects the failure; NONE for the rest.
 *
 * No include guard: included several times on purpose.
 */

SHIM_OWN(C_Initialize, NONE, NONE)
SHIM_OWN(C_Finalize, NONE, NONE)
SHIM_FN(C_GetInfo, NONE, NONE, (CK_INFO_PTR info), (info))
SHIM_OWN(C_GetFunctionList, NONE, NONE)
SHIM_OWN(C_GetSlotList, NONE, NONE)
SHIM_OWN(C_GetSlotInfo, SLOT, NONE)
SHIM_OWN(C_GetTokenInfo, SLOT, NONE)
SHIM_FN(C_GetMechanismList, SLOT, NONE,
        (CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n),
        (slot, list, n))
SHIM_FN(C_GetMechanismInfo, SLOT, NONE,
        (CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info),
        (slot, type, info))
SHIM_FN(C_InitToken, SLOT, NONE,
        (CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len,
         CK_UTF8CHAR_PTR label),
        (slot, pin, len, label))
SHIM_FN(C_InitPIN, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR pin, CK_ULONG len),
        (h, pin, len))
SHIM_FN(C_SetPIN, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR old, CK_ULONG old_len,
         CK_UTF8CHAR_PTR pin, CK_ULONG len),
        (h, old, old_len, pin, len))
SHIM_OWN(C_OpenSession, SLOT, NONE)
SHIM_OWN(C_CloseSession, SESS, NONE)
SHIM_OWN(C_CloseAllSessions, SLOT, NONE)
SHIM_FN(C_GetSessionInfo, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info), (h, info))
SHIM_FN(C_GetOperationState, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG_PTR len),
        (h, state, len))
SHIM_FN(C_SetOperationState, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR state, CK_ULONG len,
         CK_OBJECT_HANDLE enc_key, CK_OBJECT_HANDLE auth_key),
        (h, state, len, enc_key, auth_key))
SHIM_FN(C_Login, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
         CK_ULONG len),
        (h, user, pin, len))
SHIM_FN(C_Logout, SESS, NONE, (CK_SESSION_HANDLE h), (h))
SHIM_OWN(C_CreateObject, SESS, NONE)
SHIM_OWN(C_CopyObject, SESS, NONE)
SHIM_OWN(C_DestroyObject, SESS, NONE)
SHIM_FN(C_GetObjectSize, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ULONG_PTR size),
        (h, obj, size))
SHIM_FN(C_GetAttributeValue, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
         CK_ULONG n),
        (h, obj, tmpl, n))
SHIM_FN(C_SetAttributeValue, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_PTR tmpl,
         CK_ULONG n),
        (h, obj, tmpl, n))
SHIM_FN(C_FindObjectsInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n),
        (h, tmpl, n))
SHIM_FN(C_FindObjects, SESS, FIND,
        (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR objs, CK_ULONG max,
         CK_ULONG_PTR n),
        (h, objs, max, n))
SHIM_FN(C_FindObjectsFinal, SESS, FIND, (CK_SESSION_HANDLE h), (h))
SHIM_FN(C_EncryptInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),
        (h, mech, key))
SHIM_FN(C_Encrypt, SESS, ENCRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_EncryptUpdate, SESS, ENCRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_EncryptFinal, SESS, ENCRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
        (h, out, out_len))
SHIM_FN(C_DecryptInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),
        (h, mech, key))
SHIM_FN(C_Decrypt, SESS, DECRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_DecryptUpdate, SESS, DECRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_DecryptFinal, SESS, DECRYPT,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
        (h, out, out_len))
SHIM_FN(C_DigestInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech), (h, mech))
SHIM_FN(C_Digest, SESS, DIGEST,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_DigestUpdate, SESS, DIGEST,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len),
        (h, in, in_len))
SHIM_FN(C_DigestKey, SESS, DIGEST,
        (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key), (h, key))
SHIM_FN(C_DigestFinal, SESS, DIGEST,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
        (h, out, out_len))
SHIM_OWN(C_SignInit, SESS, NONE)
SHIM_OWN(C_Sign, SESS, SIGN)
SHIM_OWN(C_SignUpdate, SESS, SIGN)
SHIM_OWN(C_SignFinal, SESS, SIGN)
SHIM_FN(C_SignRecoverInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),
        (h, mech, key))
SHIM_FN(C_SignRecover, SESS, SIGN_RECOVER,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_VerifyInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),
        (h, mech, key))
SHIM_FN(C_Verify, SESS, VERIFY,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig,
         CK_ULONG sig_len),
        (h, in, in_len, sig, sig_len))
SHIM_FN(C_VerifyUpdate, SESS, VERIFY,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len),
        (h, in, in_len))
SHIM_FN(C_VerifyFinal, SESS, VERIFY,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len),
        (h, sig, sig_len))
SHIM_FN(C_VerifyRecoverInit, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key),
        (h, mech, key))
SHIM_FN(C_VerifyRecover, SESS, VERIFY_RECOVER,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len,
         CK_BYTE_PTR out, CK_ULONG_PTR out_len),
        (h, sig, sig_len, out, out_len))
SHIM_FN(C_DigestEncryptUpdate, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_DecryptDigestUpdate, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_SignEncryptUpdate, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_FN(C_DecryptVerifyUpdate, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
         CK_ULONG_PTR out_len),
        (h, in, in_len, out, out_len))
SHIM_OWN(C_GenerateKey, SESS, NONE)
SHIM_OWN(C_GenerateKeyPair, SESS, NONE)
SHIM_FN(C_WrapKey, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE wrapping,
         CK_OBJECT_HANDLE key, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
        (h, mech, wrapping, key, out, out_len))
SHIM_OWN(C_UnwrapKey, SESS, NONE)
SHIM_OWN(C_DeriveKey, SESS, NONE)
SHIM_FN(C_SeedRandom, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len), (h, seed, len))
SHIM_FN(C_GenerateRandom, SESS, NONE,
        (CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len), (h, out, len))
SHIM_FN(C_GetFunctionStatus, SESS, NONE, (CK_SESSION_HANDLE h), (h))
SHIM_FN(C_CancelFunction, SESS, NONE, (CK_SESSION_HANDLE h), (h))
SHIM_FN(C_WaitForSlotEvent, NONE, NONE,
        (CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved),
        (flags, slot, reserved))
