/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.h - memory for secrets (PINs): whole pages of their own, left out
 * of core dumps, kept out of swap where the memory lock limit allows, and
 * zeroed in a child after fork.  Freeing wipes before the pages go back.
 */
#ifndef HSMKEY_SECMEM_H
#define HSMKEY_SECMEM_H

#include <stddef.h>

/* len zeroed bytes, or NULL (raises HSMKEY_R_INTERNAL). */
void *hsmkey_secmem_alloc(size_t len);
/* Wipes and releases what hsmkey_secmem_alloc(len) returned; NULL is fine. */
void hsmkey_secmem_free(void *p, size_t len);

#endif
