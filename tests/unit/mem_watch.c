/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem_watch.c - see mem_watch.h.  Each block carries its size in a header so
 * the free hook knows how far to look.  New blocks are filled with 0xa5 so
 * code that relies on zeroed memory it did not ask for fails visibly.
 * Pages of their own (secmem.c) are seen at munmap, which the test program
 * is linked to route here (-Wl,--wrap=munmap).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "mem_watch.h"

/* max_align_t keeps the user part as aligned as malloc's. */
union block_head {
    size_t size;
    max_align_t align;
};

static const unsigned char *watch_addr;
static const char *watch_secret;
static int watch_freed;
static int watch_dirty;

static void *hook_malloc(size_t num, const char *file, int line)
{
    union block_head *h = malloc(sizeof(*h) + num);

    (void)file;
    (void)line;
    if (h == NULL)
        return NULL;
    h->size = num;
    memset(h + 1, 0xa5, num);
    return h + 1;
}

static void inspect_block(const unsigned char *p, size_t size)
{
    size_t n = watch_secret != NULL ? strlen(watch_secret) : 0;

    if (watch_addr == NULL || watch_addr < p || watch_addr >= p + size)
        return;
    watch_freed = 1;
    if (n > 0 && size >= n && memmem(p, size, watch_secret, n) != NULL)
        watch_dirty = 1;
}

static void hook_free(void *ptr, const char *file, int line)
{
    union block_head *h;

    (void)file;
    (void)line;
    if (ptr == NULL)
        return;
    h = (union block_head *)ptr - 1;
    inspect_block(ptr, h->size);
    free(h);
}

static void *hook_realloc(void *ptr, size_t num, const char *file, int line)
{
    union block_head *h;
    void *fresh;

    if (ptr == NULL)
        return hook_malloc(num, file, line);
    if (num == 0) {
        hook_free(ptr, file, line);
        return NULL;
    }
    h = (union block_head *)ptr - 1;
    fresh = hook_malloc(num, file, line);
    if (fresh != NULL) {
        memcpy(fresh, ptr, h->size < num ? h->size : num);
        hook_free(ptr, file, line);
    }
    return fresh;
}

int __real_munmap(void *addr, size_t len);
int __wrap_munmap(void *addr, size_t len);

int __wrap_munmap(void *addr, size_t len)
{
    inspect_block(addr, len);
    return __real_munmap(addr, len);
}

int mem_watch_install(void)
{
    return CRYPTO_set_mem_functions(hook_malloc, hook_realloc, hook_free);
}

void mem_watch(const void *addr, const char *secret)
{
    watch_addr = addr;
    watch_secret = secret;
    watch_freed = 0;
    watch_dirty = 0;
}

int mem_watch_freed(void)
{
    return watch_freed;
}

int mem_watch_dirty(void)
{
    return watch_dirty;
}
