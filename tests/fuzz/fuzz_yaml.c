/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_yaml.c - the YAML reader of `hsmkey check --harperdb` (tool/yaml_doc.c)
 * on any bytes, then the lookups check_harperdb.c makes in what it read.
 *
 * Contracts checked on every input:
 *  - a refusal comes with a message that names the input;
 *  - a document that loads has a root node;
 *  - every lookup returns a node of the document or NULL, every scalar's
 *    text is a C string as long as libyaml says, a boolean is -1, 0 or 1,
 *    and sequence items past the count are NULL.
 */
#include <string.h>

#include <openssl/err.h>

#include "fuzz.h"
#include "yaml_doc.h"

#define NAME "fuzz-input.yaml"

/* The keys check_harperdb.c reads, at the depths it reads them. */
static const char *const sections[] = {
    "tls", "operationsApi.tls", "replication", "clustering.tls",
    "replication.hostname", "clustering.nodeName", "a.b.c.d.e",
};
static const char *const fields[] = {
    "certificate", "privateKey", "certificateAuthority", "insecure", "verify",
};

static void scalar(yaml_node_t *n)
{
    const char *t = tool_yaml_text(n);
    int b = tool_yaml_bool(n);

    FUZZ_ASSERT(b >= -1 && b <= 1, "tool_yaml_bool gave %d", b);
    if (t != NULL)
        FUZZ_ASSERT(n->type == YAML_SCALAR_NODE
                        && strlen(t) == n->data.scalar.length,
                    "text of a non-scalar or of the wrong length");
    if (b != -1)
        FUZZ_ASSERT(t != NULL, "a boolean without text");
}

static void entry(struct tool_yaml *y, yaml_node_t *sec)
{
    size_t i;

    scalar(sec);
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        scalar(tool_yaml_get(y, sec, fields[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tool_yaml *y;
    yaml_node_t *root, *sec;
    size_t i, j, n;

    fuzz_err_reset();
    y = tool_yaml_load_buffer(data, size, NAME);
    if (y == NULL) {
        FUZZ_ASSERT(fuzz_err_count() > 0, "refused without a message");
        FUZZ_ASSERT(strstr(fuzz_err_last(), NAME) != NULL,
                    "the message does not name the input: %s",
                    fuzz_err_last());
        goto done;
    }
    FUZZ_ASSERT((root = tool_yaml_root(y)) != NULL, "loaded without a root");
    for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        sec = tool_yaml_get(y, root, sections[i]);
        n = tool_yaml_count(y, sec);
        entry(y, sec);
        for (j = 0; j < n && j < 64; j++)
            entry(y, tool_yaml_item(y, sec, j));
        FUZZ_ASSERT(tool_yaml_item(y, sec, n) == NULL,
                    "an item past the count of %zu", n);
    }
done:
    tool_yaml_free(y);
    fuzz_err_reset();
    ERR_clear_error();
    return 0;
}
