#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tls_peer.py -- a mutual-TLS server or client on Python's ssl module.

The private key is whatever load_cert_chain() is given: in the tests a
key-reference file, which the hsmkey provider (loaded through OPENSSL_CONF,
nothing else) turns into the token key. No hsmkey code is imported here:
this is the code an application already has.

  tls_peer.py server --cert C --key K --ca CA --port-file F [--tls 1.2|1.3]
      listens on 127.0.0.1 (free port written to F), demands a client
      certificate from CA, answers one line with "echo:" + the line
      reversed, prints what it saw, exits.
  tls_peer.py client --cert C --key K --ca CA --port P --host NAME
                     [--tls 1.2|1.3] [--message M]
      connects, verifies the server against CA and NAME, sends a line,
      prints the reply and what it saw.
  tls_peer.py load --cert C [--key K]
      load_cert_chain() only (server context), for the error cases.

Output lines are "key=value". Status 0 on success, 1 on an SSL or OS
error (printed as "error=<type>: <message>" on stderr), 2 on usage.
"""
import argparse
import os
import socket
import ssl
import sys

TIMEOUT = 30


def versions(ctx, tls):
    if tls:
        v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[tls]
        ctx.minimum_version = v
        ctx.maximum_version = v


def report(conn, role):
    cert = conn.getpeercert()
    subject = dict(x[0] for x in cert["subject"])
    issuer = dict(x[0] for x in cert["issuer"])
    print(f"{role}.version={conn.version()}")
    print(f"{role}.cipher={conn.cipher()[0]}")
    print(f"{role}.peer={subject.get('commonName')}")
    print(f"{role}.peer_issuer={issuer.get('commonName')}")


def server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions(ctx, a.tls)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    with socket.create_server(("127.0.0.1", 0)) as ls:
        ls.settimeout(TIMEOUT)
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{ls.getsockname()[1]}\n")
        # renamed: the test never reads a half-written port number
        os.rename(a.port_file + ".tmp", a.port_file)
        raw, _ = ls.accept()
        raw.settimeout(TIMEOUT)
        with ctx.wrap_socket(raw, server_side=True) as conn:
            report(conn, "server")
            line = conn.makefile("rb").readline().decode().rstrip("\n")
            print(f"server.received={line}")
            conn.sendall(f"echo:{line[::-1]}\n".encode())


def client(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    versions(ctx, a.tls)
    ctx.load_verify_locations(a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    with socket.create_connection(("127.0.0.1", a.port), TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=a.host) as conn:
            report(conn, "client")
            conn.sendall(f"{a.message}\n".encode())
            reply = conn.makefile("rb").readline().decode().rstrip("\n")
            if not reply:
                raise ssl.SSLError("the server closed without a reply")
            print(f"client.reply={reply}")


def load(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    print("load=ok")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client", "load"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--port", type=int)
    p.add_argument("--port-file")
    p.add_argument("--host", default="server.test")
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--message", default="hello from python")
    a = p.parse_args()
    print(f"openssl={ssl.OPENSSL_VERSION}")
    try:
        {"server": server, "client": client, "load": load}[a.mode](a)
    except (ssl.SSLError, OSError) as e:
        print(f"error={type(e).__name__}: {e}", file=sys.stderr)
        sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
