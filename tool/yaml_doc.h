/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yaml_doc.h - a YAML file (one document) read with libyaml, and the few
 * lookups `hsmkey check --harperdb` makes in it: a mapping's value by key,
 * a sequence's items, a scalar's text.  Nodes are libyaml's; NULL stands
 * for "absent" everywhere, so lookups chain without checks in between.
 */
#ifndef HSMKEY_TOOL_YAML_DOC_H
#define HSMKEY_TOOL_YAML_DOC_H

#include <stddef.h>
#include <yaml.h>

struct tool_yaml;

/*
 * The document in path (read whole, at most TOOL_YAML_MAX bytes), or NULL
 * with the reason raised (file, line and column of a syntax error).
 */
#define TOOL_YAML_MAX (4 * 1024 * 1024)
struct tool_yaml *tool_yaml_load_file(const char *path);
/* The same from memory; name is what errors call it. */
struct tool_yaml *tool_yaml_load_buffer(const unsigned char *data, size_t len,
                                        const char *name);
void tool_yaml_free(struct tool_yaml *y);

yaml_node_t *tool_yaml_root(struct tool_yaml *y);
/* The value of key in a mapping; a dotted key ("operationsApi.tls") walks
 * down mappings.  NULL when node is not a mapping or has no such key. */
yaml_node_t *tool_yaml_get(struct tool_yaml *y, yaml_node_t *node,
                           const char *key);
/* Items of a sequence: how many (0 for any other node), and the i-th. */
size_t tool_yaml_count(struct tool_yaml *y, yaml_node_t *node);
yaml_node_t *tool_yaml_item(struct tool_yaml *y, yaml_node_t *node, size_t i);
/* A scalar's text, NULL for any other node and for YAML's null (`null`,
 * `~` or nothing, when plain). */
const char *tool_yaml_text(yaml_node_t *node);
/* A plain scalar true/false (YAML 1.2 core schema): 1, 0, or -1 when node
 * is absent or not a boolean. */
int tool_yaml_bool(yaml_node_t *node);

#endif
