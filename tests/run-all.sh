#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/run-all.sh -- CI: install what is needed (apt-get), then run every
# stage and print each stage's wall and CPU time.  .ci/run runs exactly this.
#
# The stages, longest first; two workers (one per core) each take the next
# stage as soon as they are free, so both cores stay busy without a split
# made by hand:
#   fuzz      every libFuzzer target, a fixed number of executions from a
#             fixed seed (tests/fuzz/run.sh --smoke); one core, bounded time
#   asan      build-asan/ (AddressSanitizer + UBSan), every test suite under
#             the asan test setup
#   plain     build/ with -Dwerror=true, every test suite
#   package   the Debian package: build, lintian, install, the demo from the
#             installed files (tests/package.sh)
#   tsan      thread and fault programs under ThreadSanitizer
# A skipped test counts as a failure: nothing here is optional.  A stage's
# output is in build-ci-logs/STAGE.log; its end is shown when it fails.
#
# Adding a stage: a function stage_NAME below that returns non-zero on
# failure, and NAME in `stages`, by its time in the table printed at the
# end (CONTRIBUTING.md, "CI").
#
# Environment: HSMKEY_SKIP_APT=1 (no apt-get); HSMKEY_ONLY=STAGE,... (run
# only those stages); HSMKEY_NO_ASAN=1, HSMKEY_NO_TSAN=1, HSMKEY_NO_FUZZ=1,
# HSMKEY_NO_PACKAGE=1 (leave that stage out); HSMKEY_FUZZ_RUNS (executions
# per fuzz target); HSMKEY_WORKERS (stages at a time, default 2);
# HSMKEY_JOBS (compile and test jobs per stage, default: the number of
# cores).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"
jobs=${HSMKEY_JOBS:-$(nproc)}
logs=$src/build-ci-logs
TIMEFORMAT='%R %U %S'

t0=$SECONDS
"$src/tests/deps.sh"
deps_time=$((SECONDS - t0))
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.result "$logs"/*.counts "$logs"/*.time

# ---------------------------------------------------------------- helpers

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

# counts DIR LOGNAME: "passed failed skipped" from meson's JSON test log;
# the names of the tests that did not pass on stderr.
counts() {
    python3 - "$1/meson-logs/$2" <<'EOF'
import json, sys
ok = bad = skip = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        res = r.get("result", "")
        if res in ("OK", "EXPECTEDFAIL"):
            ok += 1
            continue
        if res == "SKIP":
            skip += 1
        else:
            bad += 1
        print("   ", res, r["name"], file=sys.stderr)
print(ok, bad, skip)
EOF
}

# suite DIR LOGNAME [MESON TEST OPTIONS...]: every test of DIR; writes the
# counts to $RESULT; fails on a failure or a skip.
suite() {
    local dir=$1 log=$2 ok bad skip rc=0
    shift 2
    rm -f "$dir/meson-logs/$log"
    meson test -C "$dir" --num-processes "$jobs" --print-errorlogs "$@" || rc=1
    [ -f "$dir/meson-logs/$log" ] || {
        echo "run-all: $dir: no test log, no test ran" >&2
        return 1
    }
    read -r ok bad skip < <(counts "$dir" "$log")
    echo "$ok $bad $skip" >"$RESULT"
    echo "== $dir: $ok passed, $bad failed, $skip skipped"
    if [ "$skip" -ne 0 ]; then
        echo "run-all: $dir: $skip test(s) skipped: a skip is a failure here" >&2
        rc=1
    fi
    [ "$bad" -eq 0 ] || rc=1
    return "$rc"
}

# ---------------------------------------------------------------- stages
# Each stage_NAME chains its steps with && (errexit does not apply inside a
# function whose status is tested).

stage_plain() {
    setup build -Dwerror=true &&
        meson compile -C build -j "$jobs" &&
        suite build testlog.json
}

stage_asan() {
    setup build-asan -Db_sanitize=address,undefined -Dbuildtype=debug \
        -Dwerror=true &&
        meson compile -C build-asan -j "$jobs" &&
        suite build-asan testlog-asan.json --setup asan
}

# The uninstrumented openssl, nginx or python cannot load a TSan-built
# provider, so this is its own build and not a meson test setup.
stage_tsan() { "$src/tests/c/tsan.sh" "$src/build-tsan"; }

# The long run is tests/fuzz/run.sh --long SECONDS (CONTRIBUTING.md).
stage_fuzz() {
    HSMKEY_FUZZ_BUILD="$src/build-fuzz" "$src/tests/fuzz/run.sh" --smoke
}

# Its work directory is a temp dir: the demo runs with the source tree
# hidden, build directories included.
stage_package() { "$src/tests/package.sh"; }

# wanted NAME: the stage is selected (HSMKEY_ONLY) and not left out
# (HSMKEY_NO_<NAME>).
wanted() {
    local off
    off=HSMKEY_NO_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
    [ -z "${!off:-}" ] || return 1
    [ -z "${HSMKEY_ONLY:-}" ] || [[ ,$HSMKEY_ONLY, == *,$1,* ]]
}

# stage NAME: runs stage_NAME with its output in $logs/NAME.log; writes
# "status wall cpu" to $logs/NAME.result and prints one line.
stage() {
    local name=$1 rc=0 wall user sys cpu
    wanted "$name" || return 0
    echo "== $name: started at $((SECONDS - t0)) s"
    export RESULT=$logs/$name.counts
    { time stage_"$name" >"$logs/$name.log" 2>&1; } 2>"$logs/$name.time" ||
        rc=$?
    read -r wall user sys < <(tail -n 1 "$logs/$name.time")
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    echo "$rc $wall $cpu" >"$logs/$name.result"
    if [ "$rc" -eq 0 ]; then
        printf '== %s: ok, %.0f s (CPU %.0f s)\n' "$name" "$wall" "$cpu"
    else
        printf '== %s: FAILED (status %s), %.0f s; the end of its output:\n' \
            "$name" "$rc" "$wall"
        tail -n 200 "$logs/$name.log" | sed 's/^/   | /'
    fi
}

stages=(fuzz asan plain package tsan)

# take: the index of the next stage to run (one at a time, under a lock).
take() {
    (
        flock 9
        local i
        i=$(cat "$logs/next")
        echo $((i + 1)) >"$logs/next"
        echo "$i"
    ) 9>"$logs/.lock"
}

worker() {
    local i
    while i=$(take) && [ "$i" -lt "${#stages[@]}" ]; do
        stage "${stages[i]}"
    done
}

# ---------------------------------------------------------------- run
# HarperDB from npm, fetched while the stages build: a download, not CPU,
# and one install serves both build directories (harperdb_fetch.sh waits
# for it when a test gets there first).
export HSMKEY_HARPERDB_CACHE=$src/build-ci-cache
"$src/tests/integ/harperdb_fetch.sh" "$HSMKEY_HARPERDB_CACHE" \
    >"$logs/harperdb-fetch.log" 2>&1 &
echo 0 >"$logs/next"
pids=()
for ((w = 0; w < ${HSMKEY_WORKERS:-2}; w++)); do
    worker &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || true
done
wait # the fetch: its failure shows as the harperdb test's

# ---------------------------------------------------------------- summary
status=0 total_ok=0 total_bad=0 total_skip=0 cpu=0
echo
printf '%-9s %-7s %7s %7s %s\n' stage status wall CPU tests
printf '%-9s %-7s %6ss %7s\n' deps ok "$deps_time" -
for name in "${stages[@]}"; do
    f=$logs/$name.result
    wanted "$name" || continue
    if [ ! -e "$f" ]; then
        printf '%-9s %-7s (did not run)\n' "$name" FAILED
        status=1 total_bad=$((total_bad + 1))
        continue
    fi
    read -r rc wall c <"$f"
    cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { print a + b }')
    tests=-
    if [ -f "$logs/$name.counts" ]; then
        read -r ok bad skip <"$logs/$name.counts"
        tests="$ok passed, $bad failed, $skip skipped"
        total_ok=$((total_ok + ok)) total_bad=$((total_bad + bad))
        total_skip=$((total_skip + skip))
    else
        # A stage that is one check counts as one test.
        if [ "$rc" -eq 0 ]; then
            total_ok=$((total_ok + 1))
        else
            total_bad=$((total_bad + 1))
        fi
    fi
    [ "$rc" -eq 0 ] || status=1
    printf '%-9s %-7s %6.0fs %6.0fs %s\n' "$name" \
        "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" "$wall" "$c" "$tests"
done
printf '%-9s %-7s %6ss %6.0fs\n' total \
    "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" "$((SECONDS - t0))" "$cpu"
echo
echo "$total_ok passed, $total_bad failed, $total_skip skipped"
exit "$status"
