#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""curl_standin.py -- takes curl's place under the `asan` test setup.

Debian 12's curl cannot start with an ASan runtime preloaded (it hangs in
glibc's locale lock: libp11-kit's constructor calls newlocale() while ASan
initialises; reproducible with OPENSSL_CONF=/dev/null, so nothing of
hsmkey's), and without the runtime it cannot load the instrumented
hsmkey.so. Under that setup the tests run this instead: the same options
the tests give curl, the same key-reference file through Python's ssl (the
same OpenSSL), and the lines of curl's output the tests look at. The plain
test run uses the real curl.

Options understood: --cert, --key, --cacert, --tlsv1.2, --tlsv1.3,
--tls-max 1.2|1.3, --ciphers, --resolve HOST:PORT:ADDR, --output FILE,
--write-out '%{http_code}\\n', --max-time, -s/-S/-sS/--silent/--show-error,
--verbose, --no-keepalive; one https:// URL. Exit status 58 when the client
certificate or key cannot be loaded (curl's CURLE_SSL_CERTPROBLEM), 35 for a
failed handshake, 0 when an HTTP answer came back.
"""
import socket
import ssl
import sys
import urllib.parse

FLAGS = {"-s", "-S", "-sS", "--silent", "--show-error", "--no-keepalive",
         "--verbose", "-v", "--tlsv1.2", "--tlsv1.3"}


def log(line):
    print(line, file=sys.stderr)


def parse(argv):
    opts, url, i = {"flags": set()}, None, 0
    while i < len(argv):
        a = argv[i]
        if a in FLAGS:
            opts["flags"].add(a)
        elif a.startswith("--"):
            opts[a] = argv[i + 1]
            i += 1
        else:
            url = a
        i += 1
    return opts, url


def main():
    opts, url = parse(sys.argv[1:])
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port or 443
    addr = host
    if "--resolve" in opts:
        h, p, a = opts["--resolve"].split(":", 2)
        if h == host and int(p) == port:
            addr = a
    ctx = ssl.create_default_context(cafile=opts.get("--cacert"))
    if "--tlsv1.2" in opts["flags"]:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if "--tlsv1.3" in opts["flags"]:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if "--tls-max" in opts:
        ctx.maximum_version = {"1.2": ssl.TLSVersion.TLSv1_2,
                               "1.3": ssl.TLSVersion.TLSv1_3}[opts["--tls-max"]]
    if "--ciphers" in opts:
        ctx.set_ciphers(opts["--ciphers"])
    if "--cert" in opts:
        try:
            ctx.load_cert_chain(opts["--cert"], opts.get("--key"))
        except (ssl.SSLError, OSError) as e:
            key = opts.get("--key", opts["--cert"])
            log(f"curl: (58) unable to set private key file: '{key}' type PEM ({e})")
            return 58
    timeout = float(opts.get("--max-time", 30))
    names = {"organizationName": "O", "commonName": "CN"}
    try:
        raw = socket.create_connection((addr, port), timeout)
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            log(f"* SSL connection using {tls.version()} / {tls.cipher()[0]}")
            log("*  SSL certificate verify ok.")
            subject = "; ".join(f"{names.get(k, k)}={v}"
                                for rdn in tls.getpeercert()["subject"]
                                for k, v in rdn)
            log(f"*  subject: {subject}")
            tls.sendall(f"GET {u.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        "Connection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    except (ssl.SSLError, OSError) as e:
        log(f"curl: (35) {e}")
        return 35
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head else "000"
    if "--output" in opts:
        with open(opts["--output"], "wb") as f:
            f.write(body)
    else:
        sys.stdout.buffer.write(body)
    if "--write-out" in opts:
        sys.stdout.write(opts["--write-out"].replace("%{http_code}", status)
                         .replace("\\n", "\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
