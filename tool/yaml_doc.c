/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml_doc.c - one YAML document through libyaml's document loader; see
 * yaml_doc.h.  Aliases are resolved by libyaml into shared nodes, so a
 * lookup never recurses: every walk here is bounded by the keys it is given.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "hsmkey/err.h"
#include "yaml_doc.h"

struct tool_yaml {
    yaml_document_t doc;
};

static struct tool_yaml *load(yaml_parser_t *parser, const char *name)
{
    struct tool_yaml *y = OPENSSL_zalloc(sizeof(*y));

    if (y == NULL)
        return NULL;
    if (!yaml_parser_load(parser, &y->doc)) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: line %lu column %lu: %s", name,
                     (unsigned long)parser->problem_mark.line + 1,
                     (unsigned long)parser->problem_mark.column + 1,
                     parser->problem != NULL ? parser->problem
                                             : "not YAML");
        OPENSSL_free(y);
        return NULL;
    }
    if (yaml_document_get_root_node(&y->doc) == NULL) {
        hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: no YAML document in it", name);
        tool_yaml_free(y);
        return NULL;
    }
    return y;
}

struct tool_yaml *tool_yaml_load_buffer(const unsigned char *data, size_t len,
                                        const char *name)
{
    yaml_parser_t parser;
    struct tool_yaml *y;

    if (!yaml_parser_initialize(&parser))
        return NULL;
    yaml_parser_set_input_string(&parser, data, len);
    y = load(&parser, name);
    yaml_parser_delete(&parser);
    return y;
}

struct tool_yaml *tool_yaml_load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0;
    struct tool_yaml *y = NULL;

    if (f == NULL) {
        hsmkey_raise(HSMKEY_R_FILE, "cannot read %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    if ((data = OPENSSL_malloc(TOOL_YAML_MAX + 1)) != NULL) {
        len = fread(data, 1, TOOL_YAML_MAX + 1, f);
        if (ferror(f))
            hsmkey_raise(HSMKEY_R_FILE, "cannot read %s: %s", path,
                         strerror(errno));
        else if (len > TOOL_YAML_MAX)
            hsmkey_raise(HSMKEY_R_BAD_INPUT, "%s: larger than %d bytes",
                         path, TOOL_YAML_MAX);
        else
            y = tool_yaml_load_buffer(data, len, path);
    }
    OPENSSL_free(data);
    fclose(f);
    return y;
}

void tool_yaml_free(struct tool_yaml *y)
{
    if (y == NULL)
        return;
    yaml_document_delete(&y->doc);
    OPENSSL_free(y);
}

yaml_node_t *tool_yaml_root(struct tool_yaml *y)
{
    return y != NULL ? yaml_document_get_root_node(&y->doc) : NULL;
}

static int key_is(yaml_node_t *k, const char *key, size_t len)
{
    return k != NULL && k->type == YAML_SCALAR_NODE
           && k->data.scalar.length == len
           && memcmp(k->data.scalar.value, key, len) == 0;
}

/* One level: the value of the key of length len. */
static yaml_node_t *get1(struct tool_yaml *y, yaml_node_t *node,
                         const char *key, size_t len)
{
    yaml_node_pair_t *p;

    if (node == NULL || node->type != YAML_MAPPING_NODE)
        return NULL;
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++)
        if (key_is(yaml_document_get_node(&y->doc, p->key), key, len))
            return yaml_document_get_node(&y->doc, p->value);
    return NULL;
}

yaml_node_t *tool_yaml_get(struct tool_yaml *y, yaml_node_t *node,
                           const char *key)
{
    const char *dot;

    while (node != NULL && (dot = strchr(key, '.')) != NULL) {
        node = get1(y, node, key, (size_t)(dot - key));
        key = dot + 1;
    }
    return get1(y, node, key, strlen(key));
}

size_t tool_yaml_count(struct tool_yaml *y, yaml_node_t *node)
{
    (void)y;
    if (node == NULL || node->type != YAML_SEQUENCE_NODE)
        return 0;
    return (size_t)(node->data.sequence.items.top
                    - node->data.sequence.items.start);
}

yaml_node_t *tool_yaml_item(struct tool_yaml *y, yaml_node_t *node, size_t i)
{
    if (i >= tool_yaml_count(y, node))
        return NULL;
    return yaml_document_get_node(&y->doc,
                                  node->data.sequence.items.start[i]);
}

const char *tool_yaml_text(yaml_node_t *node)
{
    const char *v;

    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    v = (const char *)node->data.scalar.value;
    /* libyaml keeps NUL-free scalars NUL-terminated; one with a NUL inside
     * is not a file name or host name we could use */
    if (strlen(v) != node->data.scalar.length)
        return NULL;
    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
        && (*v == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0))
        return NULL;
    return v;
}

int tool_yaml_bool(yaml_node_t *node)
{
    const char *v = tool_yaml_text(node);

    if (v == NULL || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return -1;
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") == 0)
        return 0;
    return -1;
}
