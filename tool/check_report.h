/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_report.h - the structured side of `hsmkey check`'s output (see
 * check_report.c); the items themselves are in check.h.
 */
#ifndef HSMKEY_TOOL_CHECK_REPORT_H
#define HSMKEY_TOOL_CHECK_REPORT_H

#include <stdio.h>
#include <time.h>

#include "check.h"
#include "tool.h"

/* What the items were judged on. */
struct check_facts {
    X509 *leaf;                    /* NULL when the files were unreadable */
    const struct check_inputs *in; /* the files as given */
    STACK_OF(X509) *verified;      /* the chain, NULL unless it verified */
    time_t now;
    const char *host;              /* --host, or NULL */
};

/*
 * The fields of one item's JSON object beside "detail":
 *   cert      subject, issuer, not_before, not_after, days_left, san
 *             (list of "DNS:..", "IP:.."), ski, aki
 *   chain     chain (the verified path, leaf first: role, subject, issuer,
 *             ski, aki, not_after; null when it did not verify) and
 *             certificates (every certificate of --cert and --ca, in file
 *             order, with file and index)
 *   validity  not_before, not_after, days_left
 *   host      host, san
 */
void check_json_fields(struct tool_json *j, enum check_item item,
                       const struct check_facts *f);

/* "  --ca #2: intermediate, subject '...', issuer '...', SKI .., AKI .." */
void check_print_certificates(FILE *out, const struct check_inputs *in);

#endif
