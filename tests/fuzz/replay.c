/*
 * replay.c - main() for a fuzz target outside libFuzzer: every file given,
 * or every file in every directory given, is fed once to
 * LLVMFuzzerTestOneInput.  Built with the normal compiler and sanitizers,
 * this is how the seed corpus (and every crash kept in it) runs in each
 * `meson test`.  An empty corpus is a failure: it would test nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long len;
    int ok = 0;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        goto done;
    }
    /* Exactly len bytes, so ASan sees a read past the input. */
    data = malloc(len > 0 ? (size_t)len : 1);
    if (data == NULL || (len > 0 && fread(data, 1, (size_t)len, f)
                                        != (size_t)len)) {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        goto done;
    }
    LLVMFuzzerTestOneInput(data, (size_t)len);
    ok = 1;
done:
    free(data);
    if (f != NULL)
        fclose(f);
    return ok;
}

/* Files of dir in name order (dot files and README skipped); -1 on error. */
static int replay_dir(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort), count = 0;
    char path[4096];

    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (names[i]->d_name[0] != '.'
            && strncmp(names[i]->d_name, "README", 6) != 0
            && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (!replay_file(path))
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        int n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? replay_dir(argv[i])
                                : replay_file(argv[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %d input%s\n", total, total == 1 ? "" : "s");
    return total > 0 ? 0 : 1;
}
