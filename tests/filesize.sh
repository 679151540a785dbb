#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/filesize.sh -- the file size rule of CONTRIBUTING.md ("How we write
# code"): lists C sources and headers over 400 lines, as a prompt to ask
# whether the file holds two concepts, and fails when one is over 600
# (generated and vendored files excepted: none so far).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
while IFS= read -r -d '' f; do
    n=$(wc -l <"$f")
    if [ "$n" -gt 600 ]; then
        echo "filesize: $f: $n lines, over the 600-line limit" >&2
        status=1
    elif [ "$n" -gt 400 ]; then
        echo "filesize: $f: $n lines, over the 400-line budget (split it)"
    fi
done < <(git ls-files -z -- '*.c' '*.h' 2>/dev/null ||
    find provider tool include tests -name '*.[ch]' -print0)
exit "$status"
