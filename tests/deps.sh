#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/deps.sh -- install with apt-get what building, the demo and the tests
# need on Debian 12 (run as root, or with sudo available).
# HSMKEY_SKIP_APT=1 skips it (a machine set up by hand).
set -euo pipefail

packages=(
    build-essential meson ninja-build pkg-config
    libssl-dev openssl
    libp11-kit-dev p11-kit
    libcmocka-dev libyaml-dev
    softhsm2 opensc
    nginx-light curl python3 nodejs
    iproute2 valgrind clang libclang-rt-dev p11-kit-modules
    # the token matrix (tests/tokens/): a TPM 2.0 (swtpm, tpm2-abrmd on a
    # private D-Bus bus, tpm2-pkcs11 and its tpm2_ptool), openCryptoki,
    # NSS softoken (certutil)
    swtpm swtpm-tools tpm2-tools tpm2-abrmd libtss2-tcti-tabrmd0 dbus
    libtpm2-pkcs11-1 libtpm2-pkcs11-tools opencryptoki libnss3-tools
    # the security tests (tests/sec/): system calls watched, setpriv
    strace util-linux
    # the Debian package (tests/package.sh)
    debhelper dpkg-dev lintian
)

if [ -n "${HSMKEY_SKIP_APT:-}" ]; then
    echo "deps.sh: HSMKEY_SKIP_APT set, not installing packages"
    exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "deps.sh: run as root or install sudo" >&2
        exit 1
    }
    sudo=sudo
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: apt-get install ${packages[*]}"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
