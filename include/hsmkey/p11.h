/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11.h - the PKCS#11 core shared by hsmkey.so and the hsmkey CLI.
 *
 * Promises:
 *  - Nothing touches the PKCS#11 module until the first call that needs a
 *    token (lazy C_Initialize with OS locking), so a program may load the
 *    provider and fork before it uses a key.
 *  - fork() with threads running is safe: the fork waits until no thread
 *    is inside a module call, and the child starts over (C_Finalize +
 *    C_Initialize) on its first use.  Objects found before the fork find
 *    themselves again by id and label.
 *  - Each token keeps a bounded pool of read-only sessions (the token's
 *    session limits, or a smaller configured one); a caller that finds them
 *    all busy waits for one.  No lock is held while the token computes.
 *    Login happens once per token and is shared by its sessions.
 *  - Reading public keys and certificates never logs in.  A PIN is only tried
 *    on the one token the URI that carries it (or the configuration) names,
 *    and a PIN the token refused with CKR_PIN_INCORRECT is never tried again.
 *  - Every failure is raised through err.h with the PKCS#11 function, its
 *    CKR_* name and the token/object concerned; never with a PIN.
 *
 * Functions return 1/0 or pointer/NULL; on failure an error has been raised.
 */
#ifndef HSMKEY_P11_H
#define HSMKEY_P11_H

#include <stddef.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <openssl/evp.h>

#include "hsmkey/pin.h"

struct hsmkey_core;   /* configuration + the loaded module(s) */
struct hsmkey_token;  /* one slot with a token; owned by its core */
struct hsmkey_object; /* a found object with its cached attributes; refcounted */

/* Asked for a PIN when no source gives one; called with no lock held. */
typedef struct hsmkey_pin *hsmkey_pin_prompt_fn(const char *token_label,
                                                void *arg);

/* ---- core: configuration and module ---- */

/*
 * module_path NULL means every module registered with p11-kit.  Neither the
 * module nor the pin source is touched here; both are checked on first use.
 */
struct hsmkey_core *hsmkey_core_new(const char *module_path,
                                    const char *pin_source);
void hsmkey_core_set_pin_prompt(struct hsmkey_core *core,
                                hsmkey_pin_prompt_fn *fn, void *arg);
/*
 * C_Initialize's pReserved for the module named by path (NSS softoken:
 * "configdir='sql:DIR' ..."); NULL or "" for none.  With no module path
 * (p11-kit's registered modules) a string set here is an error at start:
 * those take theirs from p11-kit's x-init-reserved.
 */
int hsmkey_core_set_init_args(struct hsmkey_core *core, const char *args);
/*
 * Told, once per module, that a module registered with p11-kit failed to
 * start and was left out (it is not marked critical); msg names the module
 * and the CKR_* value.  Called with the core's lock held: print, no more.
 */
typedef void hsmkey_notice_fn(const char *msg, void *arg);
void hsmkey_core_set_notice(struct hsmkey_core *core, hsmkey_notice_fn *fn,
                            void *arg);
/*
 * Called on the calling thread at every entry into token work, before
 * anything there can be raised: the provider points err.h at the instance
 * that owns this core.  Cheap and lock-free: it runs on every operation.
 */
typedef void hsmkey_enter_fn(void *arg);
void hsmkey_core_set_enter(struct hsmkey_core *core, hsmkey_enter_fn *fn,
                           void *arg);
/* Raise one error per skipped module (after "no token matches"). */
void hsmkey_core_raise_skipped(struct hsmkey_core *core);
/* Finalizes the module unless the process is exiting; NULL is fine. */
void hsmkey_core_free(struct hsmkey_core *core);

/*
 * Sign and decrypt with session-object copies of each private key, one per
 * pooled session: tokens that re-read token objects on every use and
 * serialize on one object (SoftHSM2) run at full parallel speed.  The copy
 * never leaves the token.  AUTO: on SoftHSM2 only; a hardware token gains
 * nothing and spends object memory.
 */
enum hsmkey_copies {
    HSMKEY_COPIES_AUTO,
    HSMKEY_COPIES_ON,
    HSMKEY_COPIES_OFF,
};
void hsmkey_core_set_session_copies(struct hsmkey_core *core,
                                    enum hsmkey_copies mode);

/*
 * At most max_sessions sessions per token (0: the token's own limit); a
 * caller that finds them all busy waits up to wait_ms for one.
 */
#define HSMKEY_DEFAULT_SESSION_WAIT_MS 10000L
void hsmkey_core_set_sessions(struct hsmkey_core *core,
                              unsigned long max_sessions, long wait_ms);

/* What the core's tokens hold for it now (monitoring, leak tests). */
struct hsmkey_core_stats {
    unsigned long sessions; /* open, over every token */
    unsigned long idle;     /* of those, in the pools */
    unsigned long copies;   /* session-object copies of keys alive */
};
void hsmkey_core_stats(struct hsmkey_core *core,
                       struct hsmkey_core_stats *st);

/* The module path in use ("p11-kit-proxy" when none) for messages. */
const char *hsmkey_core_module_name(const struct hsmkey_core *core);

/* ---- URIs ---- */

/*
 * Parse an RFC 7512 URI with p11-kit.  Unknown path attributes, unknown
 * query attributes other than pin-value/pin-source/module-name/module-path,
 * and a malformed type= are errors, never wildcards.
 */
P11KitUri *hsmkey_uri_parse(const char *str);
/* The URI's text without any pin-value, for messages; OPENSSL_free it. */
char *hsmkey_uri_display(P11KitUri *uri);
/* 1 when the URI names at least one object attribute (object, id, type). */
int hsmkey_uri_names_object(P11KitUri *uri);

/* ---- tokens ---- */

/*
 * Tokens matching uri (NULL: all present tokens), in slot order.  The array
 * is OPENSSL_free'd by the caller; the tokens belong to the core.
 */
int hsmkey_core_tokens(struct hsmkey_core *core, P11KitUri *uri,
                       struct hsmkey_token ***tokens, size_t *count);
const CK_TOKEN_INFO *hsmkey_token_info(const struct hsmkey_token *tok);
CK_SLOT_ID hsmkey_token_slot(const struct hsmkey_token *tok);
const char *hsmkey_token_label(const struct hsmkey_token *tok);
CK_FUNCTION_LIST *hsmkey_token_functions(const struct hsmkey_token *tok);

/*
 * Log in as CKU_USER unless already logged in.  The PIN, first found wins:
 * uri's pin-value or pin-source (uri may be NULL), HSMKEY_PIN_SOURCE, the
 * core's pin_source, the source that worked before, the core's prompt.
 */
int hsmkey_token_login(struct hsmkey_token *tok, P11KitUri *uri);

/*
 * Before a search for private keys: log in to the one token uri names that
 * needs a PIN, with fn(arg) asked after every source above (instead of the
 * core's prompt), for this login only.  1 also when there is nothing to do:
 * no such token, or several (the search then refuses).
 */
int hsmkey_core_login_prompt(struct hsmkey_core *core, P11KitUri *uri,
                             hsmkey_pin_prompt_fn *fn, void *arg);

/* ---- objects ---- */

/*
 * Objects of class cls matching uri on every matching token.  For private
 * keys the token is logged in first (its PIN resolved as p11.h promises).
 * The array and its references are released with hsmkey_objects_free.
 */
int hsmkey_core_find(struct hsmkey_core *core, P11KitUri *uri,
                     CK_OBJECT_CLASS cls, struct hsmkey_object ***objs,
                     size_t *count);
void hsmkey_objects_free(struct hsmkey_object **objs, size_t count);
/* The one object of class cls the URI names; else "no ... matches" or
 * "matches N ..." is raised (a choice among several keys would be a guess). */
struct hsmkey_object *hsmkey_core_find_one(struct hsmkey_core *core,
                                           P11KitUri *uri, CK_OBJECT_CLASS cls);
/* Raise the not-found (n == 0) or ambiguous (n > 1) error for a search. */
void hsmkey_raise_not_unique(P11KitUri *uri, CK_OBJECT_CLASS cls,
                             struct hsmkey_object **objs, size_t n);

struct hsmkey_object *hsmkey_object_ref(struct hsmkey_object *obj);
void hsmkey_object_free(struct hsmkey_object *obj); /* unref; NULL is fine */

CK_OBJECT_CLASS hsmkey_object_class(const struct hsmkey_object *obj);
CK_KEY_TYPE hsmkey_object_key_type(const struct hsmkey_object *obj);
struct hsmkey_token *hsmkey_object_token(const struct hsmkey_object *obj);
/* A cached attribute's value (NULL when the token did not give it). */
const void *hsmkey_object_attr(const struct hsmkey_object *obj,
                               CK_ATTRIBUTE_TYPE type, size_t *len);
/* CK_BBOOL attribute; dflt when absent. */
int hsmkey_object_flag(const struct hsmkey_object *obj, CK_ATTRIBUTE_TYPE type,
                       int dflt);
/* "token 'node1', object 'node-key' (id 01)" for messages. */
const char *hsmkey_object_desc(const struct hsmkey_object *obj);
/* A pkcs11: URI naming exactly this object, without any PIN; OPENSSL_free. */
char *hsmkey_object_uri(const struct hsmkey_object *obj);

/*
 * The software public key of a key object (private or public), built from
 * the token's attributes, or for an EC private key from the public key or
 * certificate object with the same CKA_ID.  Cached: the caller gets its own
 * reference (EVP_PKEY_free it).  libctx/propq select the provider that builds
 * it (normally "provider!=hsmkey").
 */
EVP_PKEY *hsmkey_object_public_key(struct hsmkey_object *obj,
                                   OSSL_LIB_CTX *libctx, const char *propq);

/* Mechanisms the object's token offers (cached per token). */
int hsmkey_object_has_mechanism(struct hsmkey_object *obj,
                                CK_MECHANISM_TYPE mech);

/*
 * The key's own restriction (CKA_ALLOWED_MECHANISMS, read at find time, no
 * token call): 1 when mech may be used with it.  A key without the
 * attribute, or with an empty list, allows every mechanism.
 */
int hsmkey_object_allows(const struct hsmkey_object *obj,
                         CK_MECHANISM_TYPE mech);
/*
 * An RSA key whose allowed mechanisms are all RSA-PSS ones (CKM_RSA_PKCS_PSS
 * and CKM_SHA*_RSA_PKCS_PSS): its public key is an RSA-PSS key (rsassaPss),
 * so certificates and CSRs carry that key type.  Unrestricted keys and keys
 * also allowed any other mechanism are plain RSA keys.
 */
int hsmkey_object_is_rsa_pss(const struct hsmkey_object *obj);

/*
 * One token operation on a private key: C_SignInit + C_Sign, or
 * C_DecryptInit + C_Decrypt, on a pooled session.  *outlen is the buffer size
 * on entry and the result size on return.
 */
int hsmkey_object_sign(struct hsmkey_object *key, CK_MECHANISM *mech,
                       const unsigned char *in, size_t inlen,
                       unsigned char *out, size_t *outlen);
int hsmkey_object_decrypt(struct hsmkey_object *key, CK_MECHANISM *mech,
                          const unsigned char *in, size_t inlen,
                          unsigned char *out, size_t *outlen);

/*
 * A multi-part signature: the message is streamed to the token, for keys
 * allowed only hash-and-sign mechanisms (CKM_SHA256_RSA_PKCS_PSS,
 * CKM_ECDSA_SHA256, ...).  A message given whole goes through
 * hsmkey_object_sign instead (C_SignInit + C_Sign).
 *
 *  - begin: the token must offer mech (else HSMKEY_R_UNSUPPORTED).  Takes
 *    one session from the token's pool, C_SignInit, and for a key marked
 *    CKA_ALWAYS_AUTHENTICATE the context-specific login.  A lost session,
 *    key handle or login at this point is repaired and begin tried once
 *    more; nothing is retried once data went to the token.
 *    mech->pParameter need only live during the call.
 *  - From begin to final/abort the session stays out of the pool, bound to
 *    the stream; no lock is held between calls.  If the token started over
 *    meanwhile (fork, module restart, removal), the next call fails,
 *    saying so, and the session is forgotten, never reused.
 *  - update: C_SignUpdate.  A failure ends the operation on the token: later
 *    updates and final fail; the stream must still be ended.
 *  - final: C_SignFinal into out, *outlen its size on entry (the key's
 *    largest signature: a smaller buffer is an error, not a size query) and
 *    the signature's length on return.  Gives the session back and frees the
 *    stream, whether it succeeded or not.
 *  - abort: ends a stream without a signature (NULL is fine).  PKCS#11 2.40
 *    cannot cancel a multi-part operation, so its session is closed rather
 *    than pooled.
 *  - One thread at a time per stream; a stream may change threads between
 *    calls.  Every failure is raised, naming the call and its CKR_*.
 */
struct hsmkey_sign_stream;
struct hsmkey_sign_stream *hsmkey_sign_begin(struct hsmkey_object *key,
                                             const CK_MECHANISM *mech);
int hsmkey_sign_update(struct hsmkey_sign_stream *st, const unsigned char *in,
                       size_t inlen);
int hsmkey_sign_final(struct hsmkey_sign_stream *st, unsigned char *out,
                      size_t *outlen);
void hsmkey_sign_abort(struct hsmkey_sign_stream *st);

/*
 * ECDH (CKM_ECDH1_DERIVE, no KDF) of a token EC key with the peer's encoded
 * public point; *outlen is the wanted secret length (the field size).
 */
int hsmkey_object_derive(struct hsmkey_object *key,
                         const unsigned char *peer, size_t peerlen,
                         unsigned char *out, size_t *outlen);

/* ---- ECDSA signature encoding (token r||s <-> DER ECDSA-Sig-Value) ---- */
int hsmkey_ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen,
                            unsigned char *der, size_t *derlen);

#endif
