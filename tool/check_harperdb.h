/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_harperdb.h - `hsmkey check --harperdb CONFIG`: every TLS section of
 * a HarperDB configuration through the items of `check`, then HarperDB's
 * own traps (check_harperdb.c).
 */
#ifndef HSMKEY_TOOL_CHECK_HARPERDB_H
#define HSMKEY_TOOL_CHECK_HARPERDB_H

#include "tool.h"

/* CONFIG is harperdb-config.yaml or the ROOTPATH that holds it; warn_days
 * as for `check`.  Returns a TOOL_EXIT_* code, the items printed. */
int check_harperdb(struct tool_ctx *ctx, const char *config, int warn_days);

#endif
