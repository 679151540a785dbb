/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.c - main() for a fuzz target outside libFuzzer: every file given,
 * or every file in every directory given, is fed once to
 * LLVMFuzzerTestOneInput.  Built with the normal compiler and sanitizers,
 * this is how the seed corpus (and every crash kept in it) runs in each
 * `meson test`.
 *
 * Each input runs in a child process, so one that crashes does not hide
 * the others: all failing inputs are listed, and the exit status is 1 when
 * there was one (or when no input was found: that would test nothing).
 * The empty input runs first in this process, so what a target sets up
 * once is shared by the children.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static int total, failed;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long len;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        _exit(1);
    }
    /* Exactly len bytes, so ASan sees a read past the input. */
    data = malloc(len > 0 ? (size_t)len : 1);
    if (data == NULL || (len > 0 && fread(data, 1, (size_t)len, f)
                                        != (size_t)len)) {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        _exit(1);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)len);
    free(data);
}

static void replay_file(const char *path)
{
    pid_t pid;
    int st = 0;

    fflush(NULL);
    if ((pid = fork()) < 0) {
        perror("replay: fork");
        exit(1);
    }
    if (pid == 0) {
        run_file(path);
        exit(0); /* LeakSanitizer checks at exit */
    }
    total++;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)
        || WEXITSTATUS(st) != 0) {
        failed++;
        fprintf(stderr, "replay: FAILED %s (%s %d)\n", path,
                WIFSIGNALED(st) ? "signal" : "exit",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
}

/* Files of dir in name order (dot files and README skipped). */
static void replay_dir(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    char path[4096];

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.'
            && strncmp(names[i]->d_name, "README", 6) != 0
            && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            replay_file(path);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    static const uint8_t none[1];

    LLVMFuzzerTestOneInput(none, 0);
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode))
            replay_dir(argv[i]);
        else
            replay_file(argv[i]);
    }
    printf("replayed %d input%s, %d failed\n", total, total == 1 ? "" : "s",
           failed);
    return total > 0 && failed == 0 ? 0 : 1;
}
