/* SPDX-License-Identifier: Apache-2.0 */
/*
 * portable.c - the URI a key-reference file keeps: the token by its label,
 * the key by its label, id and type.  The token's serial number, model and
 * manufacturer (and slot and library attributes) are left out, so the
 * file still names the key after the token is replaced by one restored
 * from backup, or on the HA partner that presents the same label.  A URI
 * without a token label keeps everything: leaving out its serial would
 * widen it to every token.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "tool.h"

/* p11-kit leaves an attribute the URI does not give zero-filled. */
static int given(const CK_UTF8CHAR *field)
{
    return field[0] != 0;
}

/* Append name to the comma-separated list in buf. */
static void note(char *buf, size_t len, const char *name)
{
    size_t n = strlen(buf);

    snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
}

/* What the portable form leaves out of p, listed in dropped. */
static void list_dropped(P11KitUri *p, char *dropped, size_t len)
{
    CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(p);
    CK_SLOT_INFO *si = p11_kit_uri_get_slot_info(p);
    CK_INFO *mi = p11_kit_uri_get_module_info(p);

    if (given(ti->serialNumber))
        note(dropped, len, "serial");
    if (given(ti->model))
        note(dropped, len, "model");
    if (given(ti->manufacturerID))
        note(dropped, len, "manufacturer");
    if (p11_kit_uri_get_slot_id(p) != (CK_SLOT_ID)-1
        || given(si->slotDescription) || given(si->manufacturerID))
        note(dropped, len, "slot");
    if (given(mi->libraryDescription) || given(mi->manufacturerID)
        || mi->libraryVersion.major != (CK_BYTE)-1)
        note(dropped, len, "library");
}

/* The token label, the object attributes and the query of p. */
static P11KitUri *kept(P11KitUri *p)
{
    P11KitUri *q = p11_kit_uri_new();
    CK_ATTRIBUTE *attrs;
    CK_ULONG n = 0;

    if (q == NULL)
        return NULL;
    memcpy(p11_kit_uri_get_token_info(q)->label,
           p11_kit_uri_get_token_info(p)->label,
           sizeof(p11_kit_uri_get_token_info(p)->label));
    attrs = p11_kit_uri_get_attributes(p, &n);
    for (CK_ULONG i = 0; i < n; i++)
        if (p11_kit_uri_set_attribute(q, &attrs[i]) != P11_KIT_URI_OK) {
            p11_kit_uri_free(q);
            return NULL;
        }
    p11_kit_uri_set_pin_source(q, p11_kit_uri_get_pin_source(p));
    p11_kit_uri_set_module_name(q, p11_kit_uri_get_module_name(p));
    p11_kit_uri_set_module_path(q, p11_kit_uri_get_module_path(p));
    return q;
}

char *tool_portable_uri(const char *uri, char *dropped, size_t len)
{
    P11KitUri *p = hsmkey_uri_parse(uri), *q = NULL;
    char *text = NULL, *out = NULL;

    dropped[0] = '\0';
    if (p == NULL)
        return NULL;
    if (!given(p11_kit_uri_get_token_info(p)->label)) {
        out = OPENSSL_strdup(uri);
        goto done;
    }
    list_dropped(p, dropped, len);
    if ((q = kept(p)) != NULL
        && p11_kit_uri_format(q, P11_KIT_URI_FOR_ANY, &text) == P11_KIT_URI_OK)
        out = OPENSSL_strdup(text);
done:
    if (out == NULL)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot format the key-reference URI");
    free(text);
    p11_kit_uri_free(q);
    p11_kit_uri_free(p);
    return out;
}
