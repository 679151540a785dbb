/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.c - pages for secrets.
 *
 * OpenSSL's secure heap does the same only when the application set one up
 * (CRYPTO_secure_malloc_init), which a provider cannot do for its host and
 * which servers rarely do; otherwise a PIN would sit on the ordinary heap,
 * in every core dump the host writes.  A PIN is allocated once per login, so
 * a page of its own costs nothing that matters.
 */
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsmkey/err.h"
#include "secmem.h"

static size_t mapped_size(size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;

    return (len + p - 1) / p * p;
}

void *hsmkey_secmem_alloc(size_t len)
{
    size_t size = mapped_size(len > 0 ? len : 1);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        hsmkey_raise(HSMKEY_R_INTERNAL, "no memory for a secret");
        return NULL;
    }
    /* Each is best effort: an old kernel or a small RLIMIT_MEMLOCK (the
     * usual 64 KiB in containers) must not stop a login. */
    (void)madvise(p, size, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
    (void)madvise(p, size, MADV_WIPEONFORK);
#endif
    (void)mlock(p, size);
    return p; /* anonymous pages start zeroed */
}

void hsmkey_secmem_free(void *p, size_t len)
{
    size_t size;

    if (p == NULL)
        return;
    size = mapped_size(len > 0 ? len : 1);
    OPENSSL_cleanse(p, size);
    (void)munlock(p, size);
    (void)munmap(p, size);
}
