#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/fuzz/run.sh -- build the fuzz targets with clang and libFuzzer, and
# run them.
#
#   run.sh --smoke [TARGET...]         CI: each target for a fixed number
#                                      of executions from a fixed seed
#                                      (HSMKEY_FUZZ_RUNS, default 1000000;
#                                      at most HSMKEY_FUZZ_SECONDS, default
#                                      30), so a run repeats what the same
#                                      command did on a developer's machine;
#                                      fails on any crash, leak, timeout or
#                                      broken contract
#   run.sh --long SECONDS [TARGET...]  the long run: each target SECONDS
#                                      seconds on every core (libFuzzer fork
#                                      mode, going on after a crash), its
#                                      corpus kept in the build directory;
#                                      prints executions, coverage, crashes
#   run.sh --build                     only build
#
# TARGET is uri, keyref, pin, pin_file, config, args, check or yaml (default:
# all).
# The build is the whole project configured with clang, ASan and UBSan in
# HSMKEY_FUZZ_BUILD (default build-fuzz/ in the source tree); only the fuzz
# targets are compiled (tests/fuzz/meson.build makes libFuzzer binaries when
# the compiler is clang).  Crashes are written to <build>/fuzz-out/; add one
# to corpus/<target>/ as bug-<what> once it is listed in tests/fuzz/README.md,
# so every `meson test` replays it.  HSMKEY_FUZZ_JOBS: the workers of --long
# (default: the number of cores).  HSMKEY_FUZZ_KNOWN=all (or a list of ids,
# tests/fuzz/README.md) lets the inputs of a listed bug pass while it is
# being fixed, so a long run looks for others (all known ones are fixed
# today); --smoke and the replays never set it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${HSMKEY_FUZZ_BUILD:-$src/build-fuzz}
all_targets=(uri keyref pin pin_file config args check yaml)

usage() {
    sed -n '2,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

mode=${1:-}
shift || true
case $mode in
--smoke) seconds=${HSMKEY_FUZZ_SECONDS:-30} ;;
--long)
    seconds=${1:-}
    [[ $seconds =~ ^[0-9]+$ ]] || usage
    shift
    ;;
--build) seconds=0 ;;
*) usage ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [ -f "$here/fuzz_$t.c" ] || { echo "run.sh: no target '$t'" >&2; exit 2; }
done

command -v clang >/dev/null || { echo "run.sh: clang is missing" >&2; exit 1; }
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, long n) { return !d + n; }' \
    >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" \
    2>"$probe/err"; then
    cat "$probe/err" >&2
    echo "run.sh: clang cannot link libFuzzer: install libclang-rt-dev" \
         "(Debian: only recommended by clang)" >&2
    rm -rf "$probe"
    exit 1
fi
rm -rf "$probe"

# ---- build
if [ ! -f "$build/build.ninja" ]; then
    # -Dwerror=false: clang warns where gcc does not (the gcc build keeps
    # -Werror); -Db_lundef=false: the ASan runtime comes with the program.
    CC=clang meson setup "$build" "$src" -Dbuildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false
fi
exes=()
for t in "${targets[@]}"; do
    exes+=("tests/fuzz/fuzz_$t")
done
if ! ninja -C "$build" -t targets all \
    | grep '^tests/fuzz/fuzz_uri:' >/dev/null; then
    echo "run.sh: $build has no fuzz targets: is 'fuzz' in the subdir list" \
         "of tests/meson.build, and is the compiler clang?" >&2
    exit 1
fi
ninja -C "$build" "${exes[@]}"
[ "$mode" != --build ] || exit 0

# ---- run
# tmpfs when there is one: the targets write a file per input, which costs
# far more on a disk file system.
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
scratch=$(mktemp -d "$base/hsmkey-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch # the targets' own files; removed even after a crash
[ "$mode" = --long ] || unset HSMKEY_FUZZ_KNOWN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
out=$build/fuzz-out
mkdir -p "$out"

max_len() { [ "$1" = check ] && echo 16384 || echo 4096; }

# flags TARGET: what every run of TARGET gets
flags() {
    local f=(-timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$1")"
             -print_final_stats=1 -artifact_prefix="$out/$1-")
    [ -f "$here/dict/$1.dict" ] && f+=(-dict="$here/dict/$1.dict")
    printf '%s\n' "${f[@]}"
}

# last_stats LOG: "execs cov ft" from libFuzzer's last status line
last_stats() {
    local re='^#([0-9]+)[[:space:]:].*cov: ([0-9]+) ft: ([0-9]+).*'
    { grep -aE '^#[0-9]+' "$1" || echo none; } | tail -1 \
        | sed -E "s/$re/\\1 \\2 \\3/;t;s/.*/0 0 0/"
}

# kinds TARGET MARKER: what the inputs saved since MARKER break, counted
# (the first "contract broken" line, or the sanitizer's SUMMARY line), for
# at most 200 of them
kinds() {
    local f n
    n=$(find "$out" -maxdepth 1 -type f -name "$1-*" ! -name '*.log' \
        -newer "$2" | wc -l)
    echo "    $n inputs saved; kinds of failure among the first 200:"
    find "$out" -maxdepth 1 -type f -name "$1-*" ! -name '*.log' \
        -newer "$2" | head -200 | while read -r f; do
        timeout 60 "$build/tests/fuzz/fuzz_$1" "$f" 2>&1 \
            | grep -a -m1 'contract broken\|^SUMMARY' \
            | sed -E 's/^.*tests\/fuzz\///' | cut -c1-100 || true
    done | sort | uniq -c | sort -rn | sed 's/^/    /'
}

status=0
printf '%-9s %12s %9s %7s %7s  %s\n' target executions "exec/s" cov ft result
for t in "${targets[@]}"; do
    exe=$build/tests/fuzz/fuzz_$t
    log=$scratch/$t.log
    touch "$scratch/start-$t"
    t0=$SECONDS
    mapfile -t f < <(flags "$t")
    if [ "$mode" = --smoke ]; then
        mkdir -p "$scratch/corpus-$t"
        # New inputs go to the scratch directory, never into the repo.
        rc=0
        "$exe" "${f[@]}" -seed=1 -runs="${HSMKEY_FUZZ_RUNS:-1000000}" \
            -max_total_time="$seconds" \
            "$scratch/corpus-$t" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
    else
        corpus=$build/fuzz-corpus/$t
        mkdir -p "$corpus"
        rc=0
        (cd "$scratch" && "$exe" "${f[@]}" -max_total_time="$seconds" \
            -fork="${HSMKEY_FUZZ_JOBS:-$(nproc)}" -ignore_crashes=1 \
            -ignore_timeouts=1 -ignore_ooms=1 \
            "$corpus" "$here/corpus/$t") >"$log" 2>&1 || rc=$?
        cp "$log" "$out/$t-long.log"
    fi
    elapsed=$((SECONDS - t0 > 0 ? SECONDS - t0 : 1))
    read -r execs cov ft < <(last_stats "$log")
    crashes=$(grep -acE '^==[0-9]+== ?ERROR|contract broken|deadly signal' \
              "$log" || true)
    result=ok
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        result="FAILED (exit $rc, $crashes crash reports; log: $out/$t.log)"
        cp "$log" "$out/$t.log"
        status=1
    fi
    printf '%-9s %12s %9s %7s %7s  %s\n' "$t" "$execs" \
        "$((execs / elapsed))" "$cov" "$ft" "$result"
    [ "$result" = ok ] || kinds "$t" "$scratch/start-$t"
done
if [ "$status" -ne 0 ]; then
    echo "run.sh: a target failed; inputs are in $out/ (replay one with" \
         "$build/tests/fuzz/fuzz_TARGET FILE)" >&2
    grep -ahA2 'contract broken\|^SUMMARY' "$out"/*.log 2>/dev/null \
        | head -40 >&2 || true
fi
exit "$status"
