/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evil_module.c - a shared object that only says it was loaded: what a
 * caller would name in HSMKEY_PKCS11_MODULE to run code inside a setuid
 * program (prov_setuid.sh).  It is no PKCS#11 module.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((constructor)) static void announce(void)
{
    fprintf(stderr, "EVIL MODULE LOADED (euid %u)\n", (unsigned int)geteuid());
}

__attribute__((visibility("default"))) int C_GetFunctionList(void **list);

int C_GetFunctionList(void **list)
{
    *list = NULL;
    return 5; /* CKR_GENERAL_ERROR */
}
