#!/usr/bin/env bash
# Runs every hostile case against a flopcost binary and prints PASS/FAIL per check.
#   ./run-all.sh /path/to/flopcost [CASE-GLOB]      e.g. ./run-all.sh ./flopcost '3-*'
# The cases are generated first (tools/gen.py) into $CASES (default: a temporary folder).
# Needs python3, jq, prlimit and /usr/bin/time (Debian: python3, jq, util-linux, time).
# Expectations (see each case's README): bad input exits 2 with one line, within 1 s and
# 100 MB (max RSS); no file outside the intended output changes (planted-symlink victims
# are hashed before and after); a bad file gets no compare headline, no leaderboard rank
# and no fleet summary; a closed stdout gives exit 0 or 141 and no panic.
# Exit status: 0 when every check passes, 1 otherwise.
set -u
BIN=${1:?usage: run-all.sh FLOPCOST-BINARY [CASE-GLOB]}
GLOB=${2:-*}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
[ -x "$B" ] || { echo "not executable: $B" >&2; exit 2; }
export B REF="$HERE/ref" TOOLS="$HERE/tools"
unset RUST_BACKTRACE
export NO_COLOR=1
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/flopcost-hostile.XXXXXX")
CASES=${CASES:-$SCRATCH/cases}
python3 "$HERE/tools/gen.py" "$CASES" >/dev/null || { echo "generating the cases failed" >&2; exit 2; }
pass=0 fail=0
log=$SCRATCH/all.log
for dir in "$CASES"/$GLOB/; do
    [ -f "$dir/case.sh" ] || continue
    CASE=$(basename "$dir")
    W=$SCRATCH/$CASE
    mkdir -p "$W"
    cp -a "$dir/." "$W/"
    (
        cd "$W" || exit 1
        export CASE FLOPCOST_CACHE_DIR="$W/cache"
        # shellcheck source=lib.sh
        source "$HERE/lib.sh"
        source ./case.sh
    ) 2>&1 | tee -a "$log"
done
pass=$(grep -c '^PASS' "$log")
fail=$(grep -c '^FAIL' "$log")
echo "---- $pass passed, $fail failed (scratch: $SCRATCH)"
[ "$fail" -eq 0 ]
