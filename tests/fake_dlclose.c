/* SPDX-License-Identifier: Apache-2.0 */
/* Preloaded under the `asan` test setup: dlclose() becomes a no-op, so
 * modules that were dlopen()ed (hsmkey.so, the PKCS#11 module) stay mapped
 * until exit and LeakSanitizer can name them in its reports and match them
 * against tests/lsan.supp. */
#include <dlfcn.h>

__attribute__((visibility("default"))) int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
