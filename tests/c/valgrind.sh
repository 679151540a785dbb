#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# valgrind.sh [BUILD-DIR] -- memcheck over the fault, fork and thread tests
# and the real openssl CLI through the provider (ossl_session.sh: a
# certificate, a signature, a decryption, a TLS 1.3 handshake)
# (a separate command, not in `meson test`: a few minutes).
#
#   meson compile -C build && tests/c/valgrind.sh build
#
# Runs the tests/c programs (fault injection through the shim, fork before
# and after first use, threads) under valgrind --leak-check=full against
# fresh tokens (run.sh), every forked child included, and sorts every
# memcheck error and every definitely lost block by whose frames it has:
#   hsmkey   a frame in provider/ (hsmkey.so or the core)
#   tests    a frame in tests/c or tests/p11shim, none in provider/
#   others   libcrypto, SoftHSM2, p11-kit, libc only
# It fails when hsmkey or tests have any error or definitely lost block, or
# a program's outcome is not the expected one (runs in OUTCOME_FREE may fail
# their own checks: the core does not pass them yet).  "others" are counted
# and shown, not judged.  valgrind.supp hides only third-party blocks that
# are still reachable at exit; nothing that reaches hsmkey's frames.
# Logs: $TMPDIR/hsmkey-valgrind.*/ (kept when it fails).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
OUTCOME_FREE=" " # none: every run must also end as expected
command -v valgrind >/dev/null || {
    echo "valgrind.sh: valgrind not installed (apt-get install valgrind)" >&2
    exit 1
}
meson compile -C "$build" tests/c/prov_faults tests/c/prov_fork \
    tests/c/prov_threads tests/p11shim/hsmkey-p11shim >/dev/null

logs=$(mktemp -d "${TMPDIR:-/tmp}/hsmkey-valgrind.XXXXXX")
export HSMKEY_BUILD=$build HSMKEY_SRC=$src
vg=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --keep-debuginfo=yes --fullpath-after=
    --num-callers=40 --child-silent-after-fork=no
    "--suppressions=$here/valgrind.supp"
    "--log-file=$logs/%q{HSMKEY_VG_RUN}.%p.vg")
export HSMKEY_TEST_WRAP="${vg[*]}" # one line: run.sh splits it on blanks
shim=$build/tests/p11shim/hsmkey-p11shim.so
B=$build/tests/c
status=0 runs=0

# run NAME RUN.SH-ARGS...
run() {
    local name=$1 rc=0
    shift
    runs=$((runs + 1))
    HSMKEY_VG_RUN=$name "$here/run.sh" "$@" >"$logs/$name.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] && [[ "$OUTCOME_FREE" != *" $name "* ]]; then
        echo "FAIL valgrind: $name: exit status $rc" >&2
        tail -n 15 "$logs/$name.out" >&2
        status=1
    fi
    printf '== valgrind: %-12s exit %s, %s processes\n' "$name" "$rc" \
        "$(find "$logs" -name "$name.*.vg" | wc -l)"
}

for mode in session login error removed late flap; do
    run "$mode" --keys ec-key --shim "$shim" "$B/prov_faults" "$mode"
done
run pin --keys ec-key --shim "$shim" "$B/prov_faults" pin @URI@ @DIR@/wrong.pin
run fork-first --keys ec-key "$B/prov_fork" fork-first 4
run fork-after --keys ec-key "$B/prov_fork" fork-after 4
run fork-many --keys ec-key "$B/prov_fork" fork-many 8 4
run fork-nested --keys ec-key "$B/prov_fork" fork-nested 3
run threads --keys "ec-key rsa-key" "$B/prov_threads" sign 4 25 @URIS@
run load --keys "ec-key rsa-key" "$B/prov_threads" load 4 5 @URIS@
# The real openssl CLI, as the integration tests drive it: every process the
# script starts is followed.
HSMKEY_TEST_WRAP="${vg[*]} --trace-children=yes --trace-children-skip=*/sleep,*/seq,*/grep,*/cmp" \
    run openssl --keys "rsa-key ec-key" "$here/ossl_session.sh" cli @URI@ @DIR@

# Sort the memcheck reports of every process.
python3 - "$logs" "$src" <<'EOF' || status=1
import collections, glob, os, re, sys
logs, src = sys.argv[1], os.path.realpath(sys.argv[2])
where = {"hsmkey": [os.path.join(src, "provider")],
         "tests": [os.path.join(src, "tests", "c"), os.path.join(src, "tests", "p11shim")]}

def owner(block):
    files = [os.path.normpath(m) for l in block for m in re.findall(r"\((/[^():]+):\d+\)", l)]
    for who in ("hsmkey", "tests"):
        if any(f.startswith(d + "/") for f in files for d in where[who]):
            return who
    return "others"

def reports(path):
    block = []
    for line in list(open(path, errors="replace")) + ["==0== \n"]:
        m = re.match(r"==\d+== ?(.*)", line.rstrip("\n"))
        if not m:
            continue
        if m.group(1).strip():
            block.append(m.group(1))
            continue
        if block and any(l.lstrip().startswith(("at 0x", "by 0x")) for l in block):
            head = block[0]
            if "lost in loss record" not in head or "definitely" in head:
                yield block
        block = []

seen = {w: collections.Counter() for w in ("hsmkey", "tests", "others")}
first = {}
procs = 0
for path in sorted(glob.glob(os.path.join(logs, "*.vg"))):
    procs += 1
    for b in reports(path):
        head = re.sub(r"[\d,]+ bytes in [\d,]+ blocks", "N bytes", b[0])
        head = re.sub(r"loss record [\d,]+ of [\d,]+", "loss record", head)
        frames = tuple(re.sub(r"0x[0-9A-F]+: ", "", l.strip()) for l in b[1:7])
        key = (head,) + frames
        seen[owner(b)][key] += 1
        first.setdefault(key, os.path.basename(path).split(".")[0])
n = {w: sum(c.values()) for w, c in seen.items()}
print("== valgrind: %d processes; errors and definitely lost blocks: "
      "hsmkey %d, tests %d, others %d" % (procs, n["hsmkey"], n["tests"], n["others"]))
for who in ("hsmkey", "tests", "others"):
    for key, times in seen[who].most_common(8):
        print("-- %s, in %d process(es), first in run '%s': %s\n       %s"
              % (who, times, first[key], key[0], "\n       ".join(key[1:])))
sys.exit(1 if n["hsmkey"] or n["tests"] else 0)
EOF
if [ "$status" -eq 0 ]; then
    echo "== valgrind: $runs runs, clean"
    rm -rf "$logs"
else
    echo "== valgrind: FAILED; logs in $logs" >&2
fi
exit "$status"
