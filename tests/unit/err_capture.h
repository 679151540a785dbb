/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err_capture.h - the unit tests' sink for err.h: it keeps what the last
 * hsmkey_raise() said, so a test can assert the reason and the text.
 */
#ifndef HSMKEY_TEST_ERR_CAPTURE_H
#define HSMKEY_TEST_ERR_CAPTURE_H

#include <stddef.h>

void err_capture_reset(void);
/* Raises since the last reset. */
int err_capture_count(void);
/* Reason of the last raise, HSMKEY_R_NONE when none. */
int err_capture_reason(void);
/* Formatted text of the last raise, "" when none. */
const char *err_capture_message(void);
/* 1 when the last message contains needle. */
int err_capture_contains(const char *needle);

/* cmocka group setup/teardown that reset the capture around each test. */
int err_capture_setup(void **state);

#endif
