/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_args.c - the hsmkey command line: argv (the input split at NUL
 * bytes) through the global option parser and the option parser of the
 * command it names, then each option value through the parser that the
 * command hands it to (hex ids, key types, subjects, SAN and EKU lists,
 * pin sources, --key URIs), and every argument through the JSON escaper.
 *
 * The command tables below mirror tool/cmd_*.c, whose tables are local to
 * each handler; main.c's dispatch is static and runs the command.
 *
 * Contracts checked on every input (tool/tool.h, x509util.h):
 *  - a refusal comes with a message;
 *  - the global parse leaves argv NULL-terminated, keeps the other
 *    arguments in order, and leaves no global option before "--";
 *  - every value a parser hands out points into argv;
 *  - tool_parse_hex accepts exactly 1..cap bytes of hex with colons only
 *    between bytes, and gives those bytes;
 *  - a --key URI with a pin-value is refused;
 *  - tool_json_escape writes one valid JSON string of valid UTF-8 which
 *    decodes to the argument itself when that is valid UTF-8.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hsmkey/provision.h"
#include "fuzz.h"
#include "fuzz_json.h"
#include "tool.h"
#include "x509util.h"

#define MAX_ARGS 24

/* Every value option of every command, by name; one slot each. */
enum { O_CERT, O_CA, O_KEY, O_HOST, O_WARN_DAYS, O_OUT, O_SUBJECT, O_SAN,
       O_EKU, O_CA_DIR, O_CN, O_DAYS, O_TOKEN, O_LABEL, O_PASSIN, O_ID,
       O_TYPE, O_MAX };
static const char *const opt_names[O_MAX] = {
    "cert", "ca", "key", "host", "warn-days", "out", "subject", "san", "eku",
    "ca-dir", "cn", "days", "token", "label", "passin", "id", "type",
};

static const struct {
    const char *cmd;
    int opts[8]; /* O_* ending with -1 */
    int force;   /* takes --force */
} commands[] = {
    { "check", { O_CERT, O_CA, O_KEY, O_HOST, O_WARN_DAYS, -1 }, 0 },
    { "config", { O_OUT, -1 }, 0 },
    { "csr", { O_KEY, O_SUBJECT, O_SAN, O_EKU, O_OUT, -1 }, 0 },
    { "devcert", { O_CA_DIR, O_KEY, O_CN, O_SAN, O_DAYS, O_OUT, -1 }, 0 },
    { "import", { O_TOKEN, O_LABEL, O_KEY, O_PASSIN, O_ID, O_OUT, -1 }, 1 },
    { "keygen", { O_TOKEN, O_LABEL, O_TYPE, O_ID, O_OUT, -1 }, 1 },
    { "keyref", { O_KEY, O_OUT, -1 }, 0 },
    { "keys", { O_TOKEN, -1 }, 0 },
    { "tokens", { -1 }, 0 },
};

static char *orig[MAX_ARGS + 2];
static int norig;

/* p points at an argument or inside one (after "--name="). */
static int in_argv(const char *p)
{
    for (int i = 0; i < norig; i++)
        if (p >= orig[i] && p <= orig[i] + strlen(orig[i]))
            return 1;
    return 0;
}

static int is_global(const char *a)
{
    static const char *const exact[] = { "--help", "-h", "--version",
                                         "--json", "--module",
                                         "--pin-source" };

    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(a, exact[i]) == 0)
            return 1;
    return strncmp(a, "--module=", 9) == 0
           || strncmp(a, "--pin-source=", 13) == 0;
}

static void check_global(int argc, char **argv, const struct tool_ctx *ctx)
{
    int j = 0, dashdash = 0;

    FUZZ_ASSERT(argc >= 1 && argc <= norig && argv[argc] == NULL
                    && argv[0] == orig[0],
                "global parse left argc %d of %d", argc, norig);
    for (int i = 1; i < argc; i++) {
        while (j < norig && orig[j] != argv[i])
            j++;
        FUZZ_ASSERT(j < norig, "argument %d '%s' is new or out of order", i,
                    argv[i]);
        dashdash |= strcmp(argv[i], "--") == 0;
        FUZZ_ASSERT(dashdash || !is_global(argv[i]),
                    "global option '%s' left in argv", argv[i]);
    }
    FUZZ_ASSERT(ctx->module == NULL || in_argv(ctx->module), "%s",
                "--module value outside argv");
    FUZZ_ASSERT(ctx->pin_source == NULL || in_argv(ctx->pin_source), "%s",
                "--pin-source value outside argv");
}

/* tool.h's promise for tool_parse_hex as a model; -1: it must refuse. */
static long hex_model(const char *s, unsigned char *out, size_t cap)
{
    size_t digits = 0;
    int hi = 0;

    for (; *s != '\0'; s++) {
        int v = *s >= '0' && *s <= '9'   ? *s - '0'
                : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
                : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
                : *s == ':'              ? -2
                                         : -1;

        if (v == -2 && digits % 2 == 0)
            continue;
        if (v < 0 || digits / 2 >= cap)
            return -1;
        if (digits++ % 2 == 0)
            hi = v;
        else
            out[digits / 2 - 1] = (unsigned char)(hi << 4 | v);
    }
    return digits == 0 || digits % 2 ? -1 : (long)(digits / 2);
}

static void value_hex(const char *v)
{
    unsigned char got[20], want[20];
    size_t len = sizeof(got);
    long n = hex_model(v, want, sizeof(want));
    int ok = tool_parse_hex("fuzz", "id", v, got, &len);

    FUZZ_ASSERT(ok == (n >= 0), "--id '%s': parse %d, model %ld", v, ok, n);
    FUZZ_ASSERT(!ok || (len == (size_t)n && memcmp(got, want, len) == 0),
                "--id '%s' gave other bytes", v);
}

static void ext_value_free(X509_EXTENSION *ext, void *v)
{
    const X509V3_EXT_METHOD *m = X509V3_EXT_get(ext);

    if (v == NULL || m == NULL)
        return;
    if (m->it != NULL)
        ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
    else if (m->ext_free != NULL)
        m->ext_free(v);
}

/* Every extension made from --san / --eku decodes as what it claims to be
 * (args-eku-raw: OpenSSL's "DER:" and "ASN1:" value forms pass raw bytes). */
static void assert_exts_decode(STACK_OF(X509_EXTENSION) *exts,
                               const char *san, const char *eku)
{
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
        void *v = X509V3_EXT_d2i(ext);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

        ERR_clear_error();
        if (v == NULL && fuzz_known("args-eku-raw") && eku != NULL
            && nid == NID_ext_key_usage)
            continue;
        FUZZ_ASSERT(v != NULL, "--san '%s' --eku '%s' made an %s extension "
                    "that does not decode", san ? san : "",
                    eku ? eku : "", OBJ_nid2sn(nid));
        ext_value_free(ext, v);
    }
}

static void value_names(const char *subject, const char *san, const char *eku)
{
    static EVP_PKEY *keys[3];
    X509_NAME *name;
    STACK_OF(X509_EXTENSION) *exts;

    if (keys[1] == NULL) {
        keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        FUZZ_ASSERT(keys[1] != NULL && keys[2] != NULL, "%s", "no keys");
    }
    if (subject != NULL) {
        name = tool_x509_name("--subject", subject);
        FUZZ_ASSERT(name != NULL || fuzz_err_count() > 0, "%s",
                    "--subject refused silently");
        if (name != NULL) {
            FUZZ_ASSERT(X509_NAME_entry_count(name) > 0, "%s",
                        "--subject accepted without an attribute");
            OPENSSL_free(tool_x509_name_text(name));
        }
        X509_NAME_free(name);
    }
    for (int i = 0; i < 3 && (san != NULL || eku != NULL); i++) {
        exts = NULL;
        if (!tool_x509_node_exts(&exts, keys[i], san, eku))
            FUZZ_ASSERT(fuzz_err_count() > 0, "%s",
                        "--san/--eku refused silently");
        else
            assert_exts_decode(exts, san, eku);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
}

static void value_key(const char *v)
{
    char *uri;
    P11KitUri *p;

    if (strncasecmp(v, "pkcs11:", 7) != 0)
        return; /* a key-reference file: fuzz_keyref reads those */
    uri = tool_key_uri(v);
    FUZZ_ASSERT(uri != NULL || fuzz_err_count() > 0, "--key '%s' refused "
                "silently", v);
    if (uri != NULL) {
        p = hsmkey_uri_parse(uri);
        FUZZ_ASSERT(p != NULL && p11_kit_uri_get_pin_value(p) == NULL,
                    "--key '%s' accepted with a pin-value", v);
        p11_kit_uri_free(p);
    }
    OPENSSL_free(uri);
}

static void values(const char **v, int force)
{
    struct hsmkey_keyspec spec;

    FUZZ_ASSERT(force == 0 || force == 1, "--force is %d", force);
    for (int i = 0; i < O_MAX; i++)
        FUZZ_ASSERT(v[i] == NULL || in_argv(v[i]), "--%s outside argv",
                    opt_names[i]);
    if (v[O_ID] != NULL)
        value_hex(v[O_ID]);
    if (v[O_TYPE] != NULL && !hsmkey_keyspec_parse(v[O_TYPE], &spec))
        FUZZ_ASSERT(fuzz_err_count() > 0, "%s", "--type refused silently");
    if (v[O_PASSIN] != NULL)
        hsmkey_pin_source_check(v[O_PASSIN]);
    if (v[O_KEY] != NULL)
        value_key(v[O_KEY]);
    value_names(v[O_SUBJECT], v[O_SAN], v[O_EKU]);
    tool_opt_required("fuzz", "token", v[O_TOKEN]);
}

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The option table of cmd; an unknown command gets every option. */
static void table_for(const char *cmd, struct tool_opt *opts, const char **v,
                      int *force)
{
    size_t c = 0, n = 0;

    while (c < NCOMMANDS && strcmp(cmd, commands[c].cmd) != 0)
        c++;
    if (c == NCOMMANDS) {
        for (int i = 0; i < O_MAX; i++)
            opts[n++] = (struct tool_opt){ opt_names[i], &v[i], NULL };
    } else {
        for (int k = 0; commands[c].opts[k] >= 0; k++)
            opts[n++] = (struct tool_opt){ opt_names[commands[c].opts[k]],
                                           &v[commands[c].opts[k]], NULL };
    }
    if (c == NCOMMANDS || commands[c].force)
        opts[n++] = (struct tool_opt){ "force", NULL, force };
    opts[n] = (struct tool_opt){ NULL, NULL, NULL };
}

static void command(int argc, char **argv)
{
    struct tool_opt opts[O_MAX + 2];
    const char *v[O_MAX] = { NULL };
    int force = 0;

    table_for(argv[0], opts, v, &force);
    fuzz_err_reset();
    if (!tool_opts_parse(argv[0], argc, argv, opts)) {
        FUZZ_ASSERT(fuzz_err_count() > 0, "'%s' options refused silently",
                    argv[0]);
        return;
    }
    values(v, force);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *argv[MAX_ARGS + 2];
    struct tool_ctx ctx = { 0 };
    int argc, help = 0, version = 0;

    argv[0] = "hsmkey";
    argc = 1 + (int)fuzz_split(data, size, &buf, argv + 1, MAX_ARGS);
    argv[argc] = NULL;
    memcpy(orig, argv, sizeof(argv));
    norig = argc;
    fuzz_err_reset();
    for (int i = 0; i < argc; i++)
        fuzz_json_check(argv[i]);
    if (tool_global_parse(&ctx, &argc, argv, &help, &version)) {
        check_global(argc, argv, &ctx);
        if (ctx.pin_source != NULL)
            hsmkey_pin_source_check(ctx.pin_source);
        if (argc >= 2)
            command(argc - 1, argv + 1);
    } else {
        FUZZ_ASSERT(fuzz_err_count() > 0, "%s", "global options refused "
                    "silently");
    }
    fuzz_err_reset();
    ERR_clear_error();
    free(buf);
    return 0;
}
