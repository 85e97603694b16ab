# Helpers sourced by run-all.sh for every case.sh. A case runs in a fresh scratch copy
# of its directory (cwd). Globals: B (binary under test), REF (reference files), TOOLS,
# CASE (case name). Each `expect` prints one PASS/FAIL line.

HEADLINE='× the cost of|× its speed'
ASCAP=${ASCAP:-$((4 << 30))}   # address-space cap protecting the host (4 GiB)
PLANTS=()                        # "template|target" symlinks planted at the child's pid
VICTIMS=()                       # "path|sha256" files that must not change
XWHY=()                          # extra failure reasons for the next expect
RC=0 ELAPSED=0 RSS=0

# victim PATH: a file outside every intended output; its bytes must never change.
victim() {
    mkdir -p "$(dirname "$1")"
    printf 'VICTIM %s %s\n' "$1" "$RANDOM$RANDOM" > "$1"
    VICTIMS+=("$1|$(sha256sum < "$1")")
}

# plant TEMPLATE TARGET: before the command starts, a symlink TEMPLATE (PID replaced by
# the command's own pid) pointing at TARGET is created; cleared after each run.
plant() { PLANTS+=("$1|$2"); }

# run_measured LABEL TIMEOUT CMD...: runs CMD (stdin /dev/null) under timeout and an
# address-space cap; sets RC, ELAPSED (s), RSS (max KB); LABEL.out / LABEL.err kept.
run_measured() {
    local label=$1 to=$2; shift 2
    local args=()
    local p
    for p in "${PLANTS[@]}"; do args+=("${p%%|*}" "${p#*|}"); done
    /usr/bin/time -f '%e %M' -o "$label.time" timeout -k 2 "$to" \
        prlimit --as="$ASCAP" bash -c '
            while [ "$1" != "--" ]; do ln -s "$2" "${1//PID/$$}"; shift 2; done
            shift; exec "$@"' _ "${args[@]}" -- "$@" \
        > "$label.out" 2> "$label.err" < /dev/null
    RC=$?
    read -r ELAPSED RSS < <(tail -n 1 "$label.time")
    PLANTS=()
}

# run_closed_pipe LABEL CMD...: stdout is a pipe whose reader has gone.
run_closed_pipe() {
    local label=$1; shift
    /usr/bin/time -f '%e %M' -o "$label.time" timeout -k 2 10 \
        python3 "$TOOLS/closedpipe.py" "$@" 2> "$label.err" < /dev/null
    RC=$?
    : > "$label.out"
    read -r ELAPSED RSS < <(tail -n 1 "$label.time")
}

# Extra conditions (append a reason to XWHY when broken).
stdout_lacks()      { ! grep -Eq "$2" "$1.out" || XWHY+=("stdout has /$2/: $(grep -Em1 "$2" "$1.out" | cut -c1-100)"); }
stderr_lines_le()   { local n; n=$(wc -l < "$1.err"); [ "$n" -le "$2" ] || XWHY+=("stderr has $n lines (> $2)"); }
absent()            { [ ! -e "$1" ] && [ ! -L "$1" ] || XWHY+=("$1 exists"); }
regular_file()      { [ -f "$1" ] && [ ! -L "$1" ] || XWHY+=("$1 is not a regular file ($(stat -c %F "$1" 2>&1 | head -1))"); }
victims_unchanged() {
    local v
    for v in "${VICTIMS[@]}"; do
        local path=${v%%|*} sum=${v#*|}
        [ "$(sha256sum < "$path" 2>/dev/null)" = "$sum" ] \
            || XWHY+=("victim $path changed (now $(wc -c < "$path" 2>/dev/null) bytes: $(head -c 40 "$path" 2>/dev/null | tr '\n' ' '))")
    done
}
readme_not_ranked() { ! grep -Eq "^\| [0-9]+ \| \[$2\]" "$1/README.md" 2>/dev/null || XWHY+=("$2 is ranked in $1/README.md: $(grep -Em1 "^\| [0-9]+ \| \[$2\]" "$1/README.md" | cut -c1-60)"); }
readme_lists()      { [ ! -f "$1/README.md" ] || grep -q -- "- $2:" "$1/README.md" || XWHY+=("$2 not listed as refused in $1/README.md"); }
fleet_not_member()  { ! jq -e --arg f "$2" '[.workloads[]?.models[]?.members[]?.file] | index($f)' "$1.out" >/dev/null 2>&1 || XWHY+=("$2 summarised by fleet"); }
fleet_refused()     { [ "$RC" = 2 ] || jq -e --arg f "$2" '[.refused[]?.file] | index($f)' "$1.out" >/dev/null 2>&1 || XWHY+=("$2 not in fleet's refused list"); }

# expect LABEL RC_REGEX [MAX_S=1] [MAX_KB=102400 (0: unchecked)]
expect() {
    local label=$1 rcre=$2 maxs=${3:-1} maxkb=${4:-102400}
    local why=("${XWHY[@]}")
    XWHY=()
    [[ $RC =~ ^($rcre)$ ]] || why+=("exit $RC, expected $rcre")
    awk -v e="$ELAPSED" -v m="$maxs" 'BEGIN { exit !(e < m) }' || why+=("took ${ELAPSED} s (limit ${maxs} s)")
    if [ "$maxkb" != 0 ] && [ "${RSS:-0}" -ge "$maxkb" ]; then why+=("max RSS ${RSS} KB (limit ${maxkb} KB)"); fi
    grep -q 'panicked' "$label.err" 2>/dev/null && why+=("panicked: $(grep -m1 -A1 panicked "$label.err" | tail -1 | cut -c1-80)")
    local first
    local a="$label.err" b="$label.out"
    [ "$label" = validate ] && { a="$label.out"; b="$label.err"; }
    first=$( (grep -v '^\s*$' "$a"; grep -v '^\s*$' "$b") 2>/dev/null | grep -v '^warning: adapter\|^adapter \|^suite ' | head -n 1 | cut -c1-140)
    if [ ${#why[@]} -eq 0 ]; then
        printf 'PASS %-40s %-14s rc=%s t=%ss rss=%sKB | %s\n' "$CASE" "$label" "$RC" "$ELAPSED" "$RSS" "$first"
    else
        local IFS=';'
        printf 'FAIL %-40s %-14s rc=%s t=%ss rss=%sKB: %s | %s\n' "$CASE" "$label" "$RC" "$ELAPSED" "$RSS" "${why[*]}" "$first"
    fi
}

# bad_result_file FILE: a hostile result file must be refused by every reader: validate
# and compare and cost exit 2 (compare with one line and no headline), leaderboard and
# fleet neither rank nor summarise it but list it as refused; each within 1 s, 100 MB.
bad_result_file() {
    local f=$1 to=${2:-10}
    run_measured validate "$to" "$B" validate "$f"
    expect validate 2
    run_measured compare "$to" "$B" compare "$REF/other.json" "$f"
    stdout_lacks compare "$HEADLINE"; stderr_lines_le compare 1
    expect compare 2
    run_measured cost "$to" "$B" cost "$f"
    expect cost 2
    mkdir -p lb && cp "$f" "$REF/other.json" lb/
    run_measured leaderboard "$to" "$B" leaderboard lb
    readme_not_ranked lb "$f"; readme_lists lb "$f"
    expect leaderboard '0|2'
    mkdir -p fl && cp "$f" "$REF/other.json" fl/
    run_measured fleet "$to" "$B" fleet fl --format json
    fleet_not_member fleet "$f"; fleet_refused fleet "$f"
    expect fleet '0|2'
}

# slow_file FILE: whatever the verdict (0 or 2), every reader answers within 1 s and
# 100 MB. Compares against itself (every record matched) and against the good file.
slow_file() {
    local f=$1 to=${2:-20}
    run_measured validate "$to" "$B" validate "$f";                       expect validate '0|2'
    run_measured compare-self "$to" "$B" compare "$f" "$f";               expect compare-self '0|2'
    run_measured compare-good "$to" "$B" compare "$REF/good.json" "$f";   expect compare-good '0|2'
    run_measured cost "$to" "$B" cost "$f";                               expect cost '0|2'
    mkdir -p lb && cp "$f" lb/
    run_measured leaderboard "$to" "$B" leaderboard lb;                   expect leaderboard '0|2'
    mkdir -p fl && cp "$f" fl/
    run_measured fleet "$to" "$B" fleet fl --format json;                 expect fleet '0|2'
}

# A tiny `run`: one 64³ GEMM, naive kernel, no peaks, 3 samples (≈0.1 s on lavapipe).
TINY_RUN=(run --shape 64 --kernel naive --repeat 1 --time-budget 0.05 --no-peaks --min-samples 3 --max-samples 3 -q)

# inert LABEL MODE FILE [LINK...]: the output FILE of LABEL is inert text in MODE (csv,
# markdown, html, text): no formula cell, no HTML or link, no foreign tag, no control
# character or direction mark (tools/inert.py).
inert() {
    local label=$1 mode=$2 file=$3; shift 3
    local why
    why=$(python3 "$TOOLS/inert.py" "$mode" "$file" "$@" 2>&1) || XWHY+=("$label $mode: ${why//$'\n'/; }")
}

# hostile_names FILE: compare in every format and leaderboard's page and fleet's, with the
# hostile FILE beside a good one; each output inert.
hostile_names() {
    local f=$1
    run_measured compare-csv 10 "$B" compare "$REF/good.json" "$f" --format csv
    inert compare-csv csv compare-csv.out; expect compare-csv 0
    run_measured compare-md 10 "$B" compare "$REF/good.json" "$f" --format markdown
    inert compare-md markdown compare-md.out; expect compare-md 0
    run_measured compare-html 10 "$B" compare "$REF/good.json" "$f" --format html --out cmp.html
    inert compare-html html cmp.html; expect compare-html 0
    run_measured compare-table 10 "$B" compare "$REF/good.json" "$f"
    inert compare-table text compare-table.out; inert compare-table text compare-table.err
    expect compare-table 0
    mkdir -p lb && cp "$f" "$REF/good.json" lb/
    run_measured leaderboard 10 "$B" leaderboard lb
    local links=()
    local n
    for n in lb/*.json; do links+=("$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-._~"))' "$(basename "$n")")"); done
    inert leaderboard markdown lb/README.md "${links[@]}"; expect leaderboard 0
    mkdir -p fl && cp "$f" "$REF/good.json" fl/
    run_measured fleet-md 10 "$B" fleet fl --format markdown
    inert fleet-md markdown fleet-md.out; expect fleet-md 0
    run_measured fleet-html 10 "$B" fleet fl --format html --out fleet.html
    inert fleet-html html fleet.html; expect fleet-html 0
    run_measured fleet-table 10 "$B" fleet fl
    inert fleet-table text fleet-table.out; expect fleet-table 0
    run_measured validate 10 "$B" validate "$f"
    inert validate text validate.out; expect validate 0
    run_measured cost 10 "$B" cost "$f"
    inert cost text cost.out; expect cost 0
}
