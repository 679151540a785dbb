#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""p11pub.py ID OUT.der < `pkcs11-tool --list-objects --type pubkey` output

Writes the SubjectPublicKeyInfo (DER) of the EC public key object with
CKA_ID ID, built from its CKA_EC_PARAMS and CKA_EC_POINT as pkcs11-tool
lists them: an independent reading of the token for tests (pkcs11-tool
0.23's --read-object cannot export some EC public keys)."""
import sys

ID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def octet_string_body(der):
    if der[0] != 0x04:
        raise ValueError("CKA_EC_POINT is not a DER OCTET STRING")
    n, off = der[1], 2
    if n & 0x80:
        k = n & 0x7F
        n, off = int.from_bytes(der[2:2 + k], "big"), 2 + k
    return der[off:off + n]


def main():
    want, out = sys.argv[1].lower(), sys.argv[2]
    blocks, cur = [], None
    for line in sys.stdin:
        if not line.startswith(" "):
            cur = {"head": line.strip()}
            blocks.append(cur)
        elif cur is not None and ":" in line:
            k, v = line.split(":", 1)
            cur[k.strip()] = v.strip()
    for b in blocks:
        if b.get("ID", "").lower() == want and "EC_POINT" in b:
            point = octet_string_body(bytes.fromhex(b["EC_POINT"]))
            alg = tlv(0x30, ID_EC_PUBLIC_KEY + bytes.fromhex(b["EC_PARAMS"]))
            spki = tlv(0x30, alg + tlv(0x03, b"\0" + point))
            with open(out, "wb") as f:
                f.write(spki)
            return 0
    sys.stderr.write("p11pub.py: no EC public key with id %s\n" % want)
    return 1


if __name__ == "__main__":
    sys.exit(main())
