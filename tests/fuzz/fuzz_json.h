/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json.h - a check of tool_json_escape() (tool/output.c) on one string. */
#ifndef HSMKEY_FUZZ_JSON_H
#define HSMKEY_FUZZ_JSON_H

/*
 * Escape s and abort unless the result is one JSON string (RFC 8259) of
 * valid UTF-8 that decodes to s itself when s is valid UTF-8.
 */
void fuzz_json_check(const char *s);

#endif
