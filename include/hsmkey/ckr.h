/* SPDX-License-Identifier: Apache-2.0 */
/* ckr.h - the one table of PKCS#11 return value names. */
#ifndef HSMKEY_CKR_H
#define HSMKEY_CKR_H

#include <p11-kit/pkcs11.h>

/*
 * "CKR_PIN_INCORRECT" for CKR_PIN_INCORRECT; an unknown or vendor value gives
 * "CKR_VENDOR_DEFINED" or "CKR_UNKNOWN".  Never NULL; the string is static.
 */
const char *hsmkey_ckr_name(CK_RV rv);

/* "CKM_RSA_PKCS_PSS" and so on; NULL when the mechanism is not in the table. */
const char *hsmkey_ckm_name(CK_MECHANISM_TYPE mech);

/* "CKA_SIGN" and so on for the attributes hsmkey puts in templates; NULL
 * for any other. */
const char *hsmkey_cka_name(CK_ATTRIBUTE_TYPE type);

/* "private key", "public key", "certificate", else "object": for people. */
const char *hsmkey_class_word(CK_OBJECT_CLASS cls);

#endif
