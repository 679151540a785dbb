/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dumpable_main.c - runs the hsmkey CLI's main() (compiled as hsmkey_main)
 * inside this process and asks the kernel before and after whether the
 * process is dumpable: the CLI must have made it non-dumpable (no core
 * file, no ptrace or /proc/PID/mem by other processes of the user) while
 * it held a PIN and, for import, a private key.  Linux's
 * /proc/self/status has no Dumpable line (only CoreDumping), so the value
 * comes from prctl(PR_GET_DUMPABLE), the one /proc consults; a Dumpable
 * line, where a kernel has one, must agree.
 *
 *     test_dumpable HSMKEY-ARGS...
 *
 * Exit 0 when the command succeeded and the process went from dumpable (1)
 * to not dumpable (0).
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#undef main /* the CLI's main is renamed for this program only */

int hsmkey_main(int argc, char **argv);

/* The kernel's answer; -1 when /proc/self/status says otherwise. */
static int dumpable(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int v = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "Dumpable:", 9) == 0
            && line[9 + strspn(line + 9, " \t")] - '0' != v)
            v = -1;
    if (f != NULL)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    int before = dumpable(), rc, after;

    rc = hsmkey_main(argc, argv);
    after = dumpable();
    printf("hsmkey exit %d, Dumpable before %d, after %d\n", rc, before,
           after);
    return rc == 0 && before == 1 && after == 0 ? 0 : 1;
}
