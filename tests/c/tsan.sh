#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tsan.sh [BUILD-DIR] -- the thread tests under ThreadSanitizer.
#
#   tests/c/tsan.sh              # build-tsan/ next to build/
#
# Configures BUILD-DIR (default: build-tsan in the source tree) with
# -Db_sanitize=thread, builds only hsmkey.so, the shim and the tests/c
# programs (all instrumented; libcrypto, SoftHSM2 and p11-kit are not), and
# runs them against fresh tokens (run.sh):
#   prov_threads sign   32 threads x 200 signatures on three keys
#   prov_threads load   16 threads x 30 load+sign rounds on two keys
#   prov_fork fork-threads  200 children forked while 4 threads sign
#   prov_instances      two library contexts' errors from 4 threads
#   prov_faults stall, pull-threads, session, login, removed, soak
#   prov_index threads  8 threads loading 48 distinct keys (the index of
#                       the token's objects built while they search)
#   prov_index many     the index dropped, extended and rebuilt
# Any ThreadSanitizer report fails the run, and so does a program that
# fails its own checks (every run here waits for recoveries rather than
# timing them, so the slower instrumented build is judged like the plain one).
#
# Why a script and not `meson test` in a -Db_sanitize=thread build: the rest
# of the suite runs the uninstrumented openssl CLI, nginx, curl, Python and
# Node.js, which cannot dlopen a TSan-instrumented hsmkey.so (the runtime
# must be in the process from its start); here every process is one of ours.
#
# Suppressions (tsan.supp) cover only reports that arise inside SoftHSM2 or
# libcrypto themselves; a report with one of our frames on top is never
# suppressed.  Reports go to $TMPDIR/hsmkey-tsan.*/tsan.<pid> and are shown.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
# Absolute: run.sh works in a directory of its own.
build=$(realpath -m "${1:-$src/build-tsan}")

if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$src" -Db_sanitize=thread >/dev/null
else
    meson setup "$build" "$src" -Db_sanitize=thread -Dbuildtype=debugoptimized \
        >/dev/null
fi
meson compile -C "$build" provider/hsmkey:shared_module \
    tests/p11shim/hsmkey-p11shim tests/c/prov_threads tests/c/prov_faults \
    tests/c/prov_fork tests/c/prov_instances tests/c/prov_index tool/hsmkey \
    >/dev/null

logs=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-tsan.XXXXXX")
trap 'rm -rf "$logs"' EXIT
export HSMKEY_BUILD=$build HSMKEY_SRC=$src
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1
    suppressions=$here/tsan.supp print_suppressions=0
    log_path=$logs/tsan ${TSAN_OPTIONS:-}"
shim=$build/tests/p11shim/hsmkey-p11shim.so
status=0 runs=0

# run NAME RUN.SH-ARGS...: one run; its TSan reports fail the script.
run() {
    local name=$1 rc=0 n
    shift
    runs=$((runs + 1))
    echo "== tsan: $name"
    "$here/run.sh" "$@" >"$logs/$name.out" 2>&1 || rc=$?
    grep -h 'signatures\|faults injected\|children' "$logs/$name.out" \
        | sed 's/^/   /' || true
    n=$(cat "$logs"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
    if [ "$n" -gt 0 ]; then
        echo "FAIL tsan: $name: $n ThreadSanitizer report(s):" >&2
        cat "$logs"/tsan.* >&2
        status=1
    elif [ "$rc" -ne 0 ]; then
        echo "FAIL tsan: $name: exit status $rc:" >&2
        tail -n 20 "$logs/$name.out" >&2
        status=1
    else
        echo "   no ThreadSanitizer report (exit status $rc)"
    fi
    rm -f "$logs"/tsan.*
}

run sign --keys "ec-key ec384-key rsa-key" \
    "$build/tests/c/prov_threads" sign 32 200 @URIS@
run load --keys "rsa-key ec-key" "$build/tests/c/prov_threads" load 16 30 @URIS@
run fork-threads --keys ec-key "$build/tests/c/prov_fork" fork-threads 200 4
run instances --keys rsa-key "$build/tests/c/prov_instances" run
for mode in stall pull-threads session login removed soak; do
    run "$mode" --keys ec-key --shim "$shim" "$build/tests/c/prov_faults" "$mode"
done
run index-threads --keys ec-key --shim "$shim" \
    "$build/tests/c/prov_index" threads @URI@ @DIR@ 48 8
run index-many --keys ec-key --shim "$shim" \
    "$build/tests/c/prov_index" many @URI@ @DIR@ 40
echo "== tsan: $runs runs, $([ "$status" -eq 0 ] && echo "no report" || echo FAILED)"
exit "$status"
