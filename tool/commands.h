/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.h - the command handlers and their --help texts (one file
 * tool/cmd_<name>.c each); the table that names them is in main.c.
 */
#ifndef HSMKEY_TOOL_COMMANDS_H
#define HSMKEY_TOOL_COMMANDS_H

#include "tool.h"

int cmd_tokens(struct tool_ctx *ctx, int argc, char **argv);
int cmd_keys(struct tool_ctx *ctx, int argc, char **argv);
int cmd_keygen(struct tool_ctx *ctx, int argc, char **argv);
int cmd_import(struct tool_ctx *ctx, int argc, char **argv);
int cmd_csr(struct tool_ctx *ctx, int argc, char **argv);
int cmd_keyref(struct tool_ctx *ctx, int argc, char **argv);
int cmd_check(struct tool_ctx *ctx, int argc, char **argv);
int cmd_devcert(struct tool_ctx *ctx, int argc, char **argv);
int cmd_config(struct tool_ctx *ctx, int argc, char **argv);
int cmd_init_token(struct tool_ctx *ctx, int argc, char **argv);
int cmd_set_pin(struct tool_ctx *ctx, int argc, char **argv);
int cmd_delete(struct tool_ctx *ctx, int argc, char **argv);

extern const char cmd_tokens_help[];
extern const char cmd_keys_help[];
extern const char cmd_keygen_help[];
extern const char cmd_import_help[];
extern const char cmd_csr_help[];
extern const char cmd_keyref_help[];
extern const char cmd_check_help[];
extern const char cmd_devcert_help[];
extern const char cmd_config_help[];
extern const char cmd_init_token_help[];
extern const char cmd_set_pin_help[];
extern const char cmd_delete_help[];

#endif
