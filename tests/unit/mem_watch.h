/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem_watch.h - libcrypto allocator hooks that let a test see what a block
 * held at the moment it was freed, to prove a secret was wiped first.
 */
#ifndef HSMKEY_TEST_MEM_WATCH_H
#define HSMKEY_TEST_MEM_WATCH_H

/* Call first in main(): libcrypto refuses hooks after its first malloc. */
int mem_watch_install(void);

/* Watch the block containing addr for secret; NULL stops watching. */
void mem_watch(const void *addr, const char *secret);
/* The watched block went back through OpenSSL's free or munmap. */
int mem_watch_freed(void);
/* ... and still contained the secret when it did. */
int mem_watch_dirty(void);

#endif
