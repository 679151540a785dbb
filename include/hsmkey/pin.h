/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pin.h - PIN sources and the buffer a PIN lives in.
 *
 * A pin source is "file:/ABSOLUTE/PATH" (the file's first line, a trailing
 * "\n" or "\r\n" stripped) or "env:NAME" (read with secure_getenv).  A pin
 * file - regular file, FIFO or device alike - must be owned by the effective
 * user or root, not writable by its group or others, nor readable by others.  A PIN exists only inside a struct hsmkey_pin, in pages of its
 * own that core dumps leave out and a forked child sees zeroed, wiped by
 * hsmkey_pin_free().  No message ever contains it.
 */
#ifndef HSMKEY_PIN_H
#define HSMKEY_PIN_H

#include <stddef.h>

#define HSMKEY_PIN_MAX 256

struct hsmkey_pin;

/* 1 when source has a known form and a non-empty argument, else 0 + raise. */
int hsmkey_pin_source_check(const char *source);

/* Read the PIN a source names; NULL + raise (HSMKEY_R_PIN_SOURCE). */
struct hsmkey_pin *hsmkey_pin_resolve(const char *source);

/* Copy len bytes (a URI's pin-value, a prompt's answer) into a PIN buffer. */
struct hsmkey_pin *hsmkey_pin_from_bytes(const void *data, size_t len);

/*
 * Writes a PIN of at most cap bytes into buf and its length into *len:
 * 1, or 0 when it has none (the caller of hsmkey_pin_from_fill says why).
 */
typedef int hsmkey_pin_fill_fn(unsigned char *buf, size_t cap, size_t *len,
                               void *arg);
/*
 * A PIN that fill writes straight into the protected buffer, so that a
 * prompt's answer never needs a copy elsewhere.  NULL when fill gave none
 * (nothing raised) or an empty or too long one (raised).
 */
struct hsmkey_pin *hsmkey_pin_from_fill(hsmkey_pin_fill_fn *fill, void *arg);

const unsigned char *hsmkey_pin_data(const struct hsmkey_pin *pin);
size_t hsmkey_pin_len(const struct hsmkey_pin *pin);

/* Wipes and frees; NULL is fine. */
void hsmkey_pin_free(struct hsmkey_pin *pin);

#endif
