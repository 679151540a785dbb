#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/run-all.sh -- install what is needed (apt-get), build, and run every
# test twice: the normal build (build/) and a build with AddressSanitizer and
# UBSan (build-asan/, `meson test --setup asan`). A skipped test counts as a
# failure: nothing here is optional. .ci/run runs exactly this.
# Environment: HSMKEY_SKIP_APT=1 (no apt-get), HSMKEY_NO_ASAN=1 (no ASan
# build), HSMKEY_NO_TSAN=1 (no ThreadSanitizer run), HSMKEY_NO_FUZZ=1 (no
# libFuzzer run; HSMKEY_FUZZ_RUNS sets its executions per target).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"

"$src/tests/deps.sh"

# setup DIR [MESON OPTIONS...]: configure DIR, or reconfigure it if it is
# already a build directory.
setup() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

# summarize DIR LOGNAME: counts from meson's JSON test log; echoes
# "passed failed skipped".
summarize() {
    python3 - "$1/meson-logs/$2" <<'EOF'
import json, sys
ok = bad = skip = 0
names = []
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        res = r.get("result", "")
        if res in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif res == "SKIP":
            skip += 1
            names.append("SKIP " + r["name"])
        else:
            bad += 1
            names.append(res + " " + r["name"])
for n in names:
    print("   ", n, file=sys.stderr)
print(ok, bad, skip)
EOF
}

status=0
total_ok=0 total_bad=0 total_skip=0
# run_suite DIR LOGNAME [MESON TEST OPTIONS...]
run_suite() {
    local dir=$1 log=$2 ok bad skip
    shift 2
    echo "== meson test -C $dir $*"
    rm -f "$dir/meson-logs/$log"
    meson test -C "$dir" --print-errorlogs "$@" || status=1
    [ -f "$dir/meson-logs/$log" ] || {
        echo "run-all: $dir: no test log, no test ran" >&2
        status=1
        return
    }
    read -r ok bad skip < <(summarize "$dir" "$log")
    echo "== $dir: $ok passed, $bad failed, $skip skipped"
    if [ "$skip" -ne 0 ]; then
        echo "run-all: $dir: $skip test(s) skipped: a skip is a failure here" >&2
        status=1
    fi
    [ "$bad" -eq 0 ] || status=1
    total_ok=$((total_ok + ok))
    total_bad=$((total_bad + bad))
    total_skip=$((total_skip + skip))
}

echo "== source file sizes (STYLE.md)"
"$src/tests/filesize.sh" || status=1

echo "== build/ (plain)"
setup build
meson compile -C build
run_suite build testlog.json

if [ -z "${HSMKEY_NO_ASAN:-}" ]; then
    echo "== build-asan/ (AddressSanitizer + UBSan)"
    setup build-asan -Db_sanitize=address,undefined -Dbuildtype=debug
    meson compile -C build-asan
    run_suite build-asan testlog-asan.json --setup asan
fi

# The thread and fault programs under ThreadSanitizer, in their own build
# (the uninstrumented openssl, nginx or python cannot load a TSan-built
# provider, so this is not a meson test setup); any report fails.
if [ -z "${HSMKEY_NO_TSAN:-}" ]; then
    echo "== build-tsan/ (ThreadSanitizer)"
    if "$src/tests/c/tsan.sh" "$src/build-tsan"; then
        total_ok=$((total_ok + 1))
    else
        total_bad=$((total_bad + 1))
        status=1
    fi
fi

# Every libFuzzer target for a short while (clang, ASan, UBSan, its own
# build): a fixed number of executions from a fixed seed, the run a
# developer repeats with the same command before pushing.  The long run is
# tests/fuzz/run.sh --long SECONDS (README).  HSMKEY_NO_FUZZ=1 leaves it out.
if [ -z "${HSMKEY_NO_FUZZ:-}" ]; then
    echo "== build-fuzz/ (libFuzzer: each target ${HSMKEY_FUZZ_RUNS:-1000000} executions, seed 1)"
    if HSMKEY_FUZZ_BUILD="$src/build-fuzz" "$src/tests/fuzz/run.sh" --smoke; then
        total_ok=$((total_ok + 1))
    else
        total_bad=$((total_bad + 1))
        status=1
    fi
fi

echo
echo "$total_ok passed, $total_bad failed, $total_skip skipped"
exit "$status"
