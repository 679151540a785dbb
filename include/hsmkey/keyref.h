/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyref.h - the key-reference file: a PEM file that holds only a pkcs11:
 * URI, in the format latchset/pkcs11-provider writes, so files move freely
 * between the two providers:
 *
 *   -----BEGIN PKCS#11 PROVIDER URI-----
 *   base64(DER SEQUENCE { desc VisibleString, uri UTF8String })
 *   -----END PKCS#11 PROVIDER URI-----
 *
 * with desc exactly "PKCS#11 Provider URI v1.0".
 */
#ifndef HSMKEY_KEYREF_H
#define HSMKEY_KEYREF_H

#include <stddef.h>
#include <openssl/bio.h>

#define HSMKEY_KEYREF_PEM_LABEL "PKCS#11 PROVIDER URI"
#define HSMKEY_KEYREF_DESC "PKCS#11 Provider URI v1.0"

/*
 * DER body <-> URI.  decode returns a NUL-terminated URI to free with
 * OPENSSL_free, or NULL + raise (HSMKEY_R_BAD_INPUT) when the DER is not
 * exactly that SEQUENCE, desc differs, or the URI is not a pkcs11: URI.
 */
char *hsmkey_keyref_decode_der(const unsigned char *der, size_t len);
int hsmkey_keyref_encode_der(const char *uri, unsigned char **der,
                             size_t *len);

/*
 * PEM.  read scans bio for the first PKCS#11 PROVIDER URI block (other blocks,
 * e.g. certificates in a combined file, are skipped); NULL + raise when there
 * is none or it is malformed.  write refuses a URI that carries a pin-value.
 */
char *hsmkey_keyref_read_bio(BIO *in, const char *name_for_errors);
/*
 * For decoders that share in with others (OSSL_STORE reads one object after
 * another): reads lines from in only up to the END line of the first
 * key-reference block, skipping the lines before it unparsed (a combined
 * file's certificates), then decodes that block as read_bio does.  *seen
 * is 1 once the block's BEGIN line was read: NULL with *seen set is a
 * broken key reference, NULL without it input that holds none.
 */
char *hsmkey_keyref_read_block(BIO *in, const char *name_for_errors,
                               int *seen);
int hsmkey_keyref_write_bio(BIO *out, const char *uri);

#endif
