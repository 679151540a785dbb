/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_csr.c - `hsmkey csr`: a PKCS#10 request for a token key, signed on
 * the token through the hsmkey provider (the path a TLS server takes).
 */
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "commands.h"
#include "x509util.h"

const char cmd_csr_help[] =
    "usage: hsmkey csr --key URI|REF.pem --subject /CN=NAME[/O=ORG...]\n"
    "                  [--san LIST] [--eku LIST] --out REQ.pem\n"
    "\n"
    "Make a PKCS#10 certificate request for a token key, signed by that key\n"
    "on the token.  The request asks for Key Usage digitalSignature (plus\n"
    "keyEncipherment for RSA) and Extended Key Usage serverAuth+clientAuth,\n"
    "so the node can both accept and open mutual-TLS connections.\n"
    "\n"
    "Options:\n"
    "  --key URI|FILE   the token key: a pkcs11: URI or a key-reference file\n"
    "  --subject NAME   OpenSSL's form, '\\' escapes '/':\n"
    "                   /CN=node1.example.com/O=Example\n"
    "  --san LIST       subjectAltName entries, comma-separated:\n"
    "                   DNS:name,IP:address,URI:uri,email:address\n"
    "  --eku LIST       Extended Key Usage (default serverAuth,clientAuth;\n"
    "                   'none' leaves it out)\n"
    "  --out FILE       where to write the request (PEM, replaced if present)\n"
    "\n"
    "Examples:\n"
    "  hsmkey csr --key 'pkcs11:token=node1;object=node-key;type=private' \\\n"
    "      --subject /CN=node1.example.com \\\n"
    "      --san DNS:node1.example.com,IP:10.0.0.1 --out node1.csr\n"
    "  hsmkey csr --key node1-key.pem --subject '/CN=node1/O=Example' \\\n"
    "      --out node1.csr\n"
    "  openssl req -in node1.csr -noout -verify -text\n"
    "\n" TOOL_GLOBAL_HELP;

struct csr_args {
    const char *key, *subject, *san, *eku, *out;
};

static X509_REQ *csr_build(OSSL_LIB_CTX *libctx, EVP_PKEY *key,
                           X509_NAME *name, const struct csr_args *a)
{
    X509_REQ *req = X509_REQ_new_ex(libctx, NULL);
    STACK_OF(X509_EXTENSION) *exts = NULL;
    int ok = req != NULL && X509_REQ_set_version(req, X509_REQ_VERSION_1)
             && X509_REQ_set_subject_name(req, name)
             && X509_REQ_set_pubkey(req, key);

    if (!ok)
        hsmkey_raise(HSMKEY_R_INTERNAL, "cannot put the public key of %s "
                     "into a request", a->key);
    else if (!tool_x509_node_exts(&exts, key, a->san, a->eku))
        ok = 0;
    else if (!X509_REQ_add_extensions(req, exts))
        ok = 0, hsmkey_raise(HSMKEY_R_INTERNAL, "cannot add the extensions");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) {
        X509_REQ_free(req);
        return NULL;
    }
    return req;
}

/* Signed by the token; then checked with the public key in the request. */
static int csr_sign(OSSL_LIB_CTX *libctx, EVP_PKEY *key, X509_REQ *req,
                    const char *key_arg)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    int ok = mctx != NULL
             && EVP_DigestSignInit_ex(mctx, NULL, tool_x509_digest(key), libctx,
                                      NULL, key, NULL) == 1
             && X509_REQ_sign_ctx(req, mctx) > 0;

    EVP_MD_CTX_free(mctx);
    if (!ok) {
        hsmkey_raise(HSMKEY_R_PKCS11, "the token key %s did not sign the "
                     "request", key_arg);
        return 0;
    }
    if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
        hsmkey_raise(HSMKEY_R_PKCS11, "the request's signature by %s does "
                     "not verify with its public key", key_arg);
        return 0;
    }
    return 1;
}

static int csr_report(struct tool_ctx *ctx, X509_REQ *req,
                      const struct csr_args *a)
{
    static const struct tool_column cols[] = {
        { "OUT", TOOL_COL_STR }, { "SUBJECT", TOOL_COL_STR },
        { "SAN", TOOL_COL_STR }, { "EKU", TOOL_COL_STR },
        { "KEY", TOOL_COL_STR },
    };
    struct tool_table *t = tool_table_new(cols, 5);
    char *subject = tool_x509_name_text(X509_REQ_get_subject_name(req));
    const char *eku = a->eku ? a->eku : TOOL_X509_DEFAULT_EKU;
    const char *row[] = { a->out, subject, a->san,
                          strcmp(eku, "none") == 0 ? NULL : eku, a->key };
    int ok = t != NULL && tool_table_add(t, row)
             && tool_table_print_record(t, stdout, ctx->json);

    tool_table_free(t);
    OPENSSL_free(subject);
    return ok;
}

static int csr_write(X509_REQ *req, const char *path)
{
    struct tool_out *out = tool_out_open(path, 0644);

    return out != NULL
           && tool_out_close(out, PEM_write_bio_X509_REQ(tool_out_bio(out),
                                                         req));
}

int cmd_csr(struct tool_ctx *ctx, int argc, char **argv)
{
    struct csr_args a = { 0 };
    const struct tool_opt opts[] = {
        { "key", &a.key, NULL },    { "subject", &a.subject, NULL },
        { "san", &a.san, NULL },    { "eku", &a.eku, NULL },
        { "out", &a.out, NULL },    { NULL, NULL, NULL },
    };
    STACK_OF(X509_EXTENSION) *probe = NULL;
    X509_NAME *name = NULL;
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    int rc = TOOL_EXIT_RAISED, ok;

    if (!tool_opts_parse(ctx->cmd, argc, argv, opts)
        || !tool_opt_required(ctx->cmd, "key", a.key)
        || !tool_opt_required(ctx->cmd, "subject", a.subject)
        || !tool_opt_required(ctx->cmd, "out", a.out))
        return TOOL_EXIT_RAISED;
    /* Every argument is checked before the token is asked for a PIN. */
    ok = (name = tool_x509_name("--subject", a.subject)) != NULL
         && tool_x509_node_exts(&probe, NULL, a.san, a.eku);
    sk_X509_EXTENSION_pop_free(probe, X509_EXTENSION_free);
    if (ok && (key = tool_load_key(ctx, a.key)) != NULL
        && (req = csr_build(ctx->libctx, key, name, &a)) != NULL
        && csr_sign(ctx->libctx, key, req, a.key) && csr_write(req, a.out)
        && csr_report(ctx, req, &a))
        rc = TOOL_EXIT_OK;
    X509_REQ_free(req);
    EVP_PKEY_free(key);
    X509_NAME_free(name);
    return rc;
}
