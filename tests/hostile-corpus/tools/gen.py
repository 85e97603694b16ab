#!/usr/bin/env python3
"""Generates the hostile cases into the folder given (default: ../cases beside this
script): per case a hostile file, a one-line README (what it is, the JSON paths edited,
the expected behaviour) and case.sh (the checks, using lib.sh).

    python3 tools/gen.py OUT-DIR"""
import os, sys, shutil, shlex
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
from heavy import rep_bomb, many_records

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cases")
BAD = "expected: validate, compare, cost exit 2 (one line, no headline); leaderboard does not rank it and lists it as refused; fleet does not summarise it; each < 1 s, < 100 MB"

def case(name, readme, script, files=None):
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "README"), "w") as f:
        f.write(readme.strip() + "\n")
    with open(os.path.join(d, "case.sh"), "w") as f:
        f.write(script.strip() + "\n")
    for fname, obj in (files or {}).items():
        if isinstance(obj, str):
            dump(None, os.path.join(d, fname), raw=obj)
        else:
            dump(obj, os.path.join(d, fname))

def bad(name, what, d, fname="hostile.json"):
    case(name, f"{what}. {BAD}.", f"bad_result_file {fname}", {fname: d})

shutil.rmtree(ROOT, ignore_errors=True)

# ---- 0: controls (the harness must PASS these on any sane binary)
case("0-control-good-file",
     "Control: the committed valid file. expected: validate 0, compare 0 with a headline, leaderboard ranks it; each < 1 s.",
     """
cp "$REF/good.json" good.json
run_measured validate 5 "$B" validate good.json; expect validate 0
run_measured compare 5 "$B" compare "$REF/other.json" good.json; expect compare 0
mkdir lb; cp good.json lb/
run_measured leaderboard 5 "$B" leaderboard lb
grep -Eq '^\\| 1 \\| \\[good.json\\]' lb/README.md || XWHY+=("good.json not ranked")
expect leaderboard 0
""")
case("0-control-broken-json",
     "Control: truncated JSON ('{'). " + BAD + ".",
     "bad_result_file hostile.json", {"hostile.json": "{"})

# ---- 1: planted symlinks at the temporary names
S1 = "expected: the link target (victim) is unchanged, the output is a regular file, exit 0 (or 2 refusing); < 1 s"
case("1-cost-out-new",
     f"cost FILE --out out.json with a symlink planted at .out.json.new-<pid> -> victim (write_exclusive's temporary). {S1}.",
     """
cp "$REF/good.json" in.json; victim victim.txt
plant '.out.json.new-PID' "$PWD/victim.txt"
run_measured cost-out 5 "$B" cost in.json --out out.json
victims_unchanged; regular_file out.json; expect cost-out '0|2'
""")
case("1-cost-out-force-tmp",
     f"cost FILE --out out.json --force over an existing out.json, symlink at .out.json.tmp-<pid> (write_atomic's temporary). {S1}.",
     """
cp "$REF/good.json" in.json; cp "$REF/good.json" out.json; victim victim.txt
plant '.out.json.tmp-PID' "$PWD/victim.txt"
run_measured cost-force 5 "$B" cost in.json --out out.json --force
victims_unchanged; regular_file out.json; expect cost-force '0|2'
""")
case("1-write-test-probe",
     f"cost FILE --out out.json with a symlink at .flopcost-write-test-<pid> (the writability probe; fs::write truncates its target). {S1}.",
     """
cp "$REF/good.json" in.json; victim victim.txt
plant '.flopcost-write-test-PID' "$PWD/victim.txt"
run_measured probe 5 "$B" cost in.json --out out.json
victims_unchanged; expect probe '0|2'
""")
case("1-compare-out-new",
     f"compare A B --format markdown --out cmp.md, symlink at .cmp.md.new-<pid>. {S1}.",
     """
victim victim.txt
plant '.cmp.md.new-PID' "$PWD/victim.txt"
run_measured compare-out 5 "$B" compare "$REF/good.json" "$REF/other.json" --format markdown --out cmp.md
victims_unchanged; regular_file cmp.md; expect compare-out '0|2'
""")
case("1-compare-out-force-tmp",
     f"compare A B --out cmp.md --force over an existing cmp.md, symlink at .cmp.md.tmp-<pid>. {S1}.",
     """
echo old > cmp.md; victim victim.txt
plant '.cmp.md.tmp-PID' "$PWD/victim.txt"
run_measured compare-force 5 "$B" compare "$REF/good.json" "$REF/other.json" --format markdown --out cmp.md --force
victims_unchanged; regular_file cmp.md; expect compare-force '0|2'
""")
case("1-fleet-out-new",
     f"fleet DIR --format markdown --out fleet.md, symlink at .fleet.md.new-<pid>. {S1}.",
     """
mkdir fl; cp "$REF/good.json" "$REF/other.json" fl/; victim victim.txt
plant '.fleet.md.new-PID' "$PWD/victim.txt"
run_measured fleet-out 5 "$B" fleet fl --format markdown --out fleet.md
victims_unchanged; regular_file fleet.md; expect fleet-out '0|2'
""")
case("1-leaderboard-tmp",
     f"leaderboard DIR with a symlink at DIR/.README.md.tmp-<pid>. {S1}.",
     """
mkdir lb; cp "$REF/good.json" "$REF/other.json" lb/; victim victim.txt
plant 'lb/.README.md.tmp-PID' "$PWD/victim.txt"
run_measured leaderboard 5 "$B" leaderboard lb
victims_unchanged; regular_file lb/README.md; expect leaderboard '0|2'
""")
case("1-cost-out-pid-range",
     f"No exec trick: links .out.json.new-N for the next 400 pids (from /proc/sys/kernel/ns_last_pid, created by one python process), then an ordinary launch. {S1}.",
     """
cp "$REF/good.json" in.json; victim victim.txt
python3 -c 'import os
last = int(open("/proc/sys/kernel/ns_last_pid").read())
for p in range(last + 1, last + 401): os.symlink(os.path.abspath("victim.txt"), ".out.json.new-%d" % p)' 
run_measured cost-out 5 "$B" cost in.json --out out.json
victims_unchanged; regular_file out.json; expect cost-out '0|2'
""")
case("1-tune-cache-tmp",
     f"tune --shape 64 --force with FLOPCOST_CACHE_DIR=./cache and a symlink at cache/.<cache-file>.tmp-<pid> (the cache file's name is learnt from a first tune, which runs on the GPU/lavapipe, ~1 s). {S1} (limit 20 s: it tunes).",
     """
mkdir -p cache
"$B" tune --shape 64 --budget 5 -q >first.err 2>&1
name=$(sed -n 's#^tuning cache: .*/##p' first.err | tail -1)
[ -n "$name" ] || name=tune-unknown.json
victim victim.txt
plant "cache/.$name.tmp-PID" "$PWD/victim.txt"
run_measured tune 60 "$B" tune --shape 64 --budget 5 -q --force
victims_unchanged; regular_file "cache/$name"; expect tune '0|2' 20 0
""")
case("1-run-out-new",
     f"A tiny run (one 64^3 GEMM) --out r.json with a symlink at .r.json.new-<pid>. {S1} (limit 20 s: it measures).",
     """
victim victim.txt
plant '.r.json.new-PID' "$PWD/victim.txt"
run_measured run-out 60 "$B" "${TINY_RUN[@]}" --out r.json
victims_unchanged; regular_file r.json; expect run-out '0|2' 20 0
""")
case("1-run-out-force-tmp",
     f"A tiny run --out r.json --force over an existing r.json with a symlink at .r.json.tmp-<pid>. {S1} (limit 20 s).",
     """
cp "$REF/good.json" r.json; victim victim.txt
plant '.r.json.tmp-PID' "$PWD/victim.txt"
run_measured run-force 60 "$B" "${TINY_RUN[@]}" --out r.json --force
victims_unchanged; regular_file r.json; expect run-force '0|2' 20 0
""")

# ---- 2: leaderboard's README.md that is not a regular file
L2 = "expected: exit 2 naming DIR/README.md (not a regular file / not generated), within 1 s and 100 MB; nothing replaced"
for flag, sfx in (("", ""), ("--check", "-check"), ("--force", "-force")):
    case(f"2-readme-fifo{sfx}", f"leaderboard DIR {flag}: DIR/README.md is a FIFO with no writer. {L2}.", f"""
mkdir lb; cp "$REF/good.json" lb/; mkfifo lb/README.md
run_measured leaderboard 5 "$B" leaderboard lb {flag}
[ -p lb/README.md ] || XWHY+=("the FIFO was replaced")
expect leaderboard 2
""")
    case(f"2-readme-devzero{sfx}", f"leaderboard DIR {flag}: DIR/README.md -> /dev/zero (unbounded read; runs under a 4 GiB address-space cap and a 5 s timeout). {L2}.", f"""
mkdir lb; cp "$REF/good.json" lb/; ln -s /dev/zero lb/README.md
run_measured leaderboard 5 "$B" leaderboard lb {flag}
[ -L lb/README.md ] || XWHY+=("the link was replaced")
expect leaderboard 2
""")
case("2-readme-urandom", f"leaderboard DIR: DIR/README.md -> /dev/urandom. {L2}.", """
mkdir lb; cp "$REF/good.json" lb/; ln -s /dev/urandom lb/README.md
run_measured leaderboard 5 "$B" leaderboard lb
expect leaderboard 2
""")
case("2-readme-sparse-1g", f"leaderboard DIR: DIR/README.md is a hand-written-looking 1 GiB sparse regular file (no marker): it is read whole before refusing. {L2}.", """
mkdir lb; cp "$REF/good.json" lb/; truncate -s 1G lb/README.md
run_measured leaderboard 10 "$B" leaderboard lb
expect leaderboard 2
""")
case("2-readme-directory", f"leaderboard DIR: DIR/README.md is a directory. {L2}.", """
mkdir lb; cp "$REF/good.json" lb/; mkdir lb/README.md
run_measured leaderboard 5 "$B" leaderboard lb
expect leaderboard 2
""")
case("2-dir-fifo-and-devzero-results",
     "leaderboard DIR where DIR/z.json is a FIFO and DIR/zz.json -> /dev/zero besides a good file. expected: exit 0, both listed as refused (not silently dropped), < 1 s, < 100 MB.", """
mkdir lb; cp "$REF/good.json" lb/; mkfifo lb/z.json; ln -s /dev/zero lb/zz.json
run_measured leaderboard 5 "$B" leaderboard lb
readme_lists lb z.json; readme_lists lb zz.json
expect leaderboard '0|2'
""")

# ---- 3: infinities and other extreme numbers
def two_products(rep_idx_list, value, step):
    d = load()
    for i in (0, 1):
        e = rep(d, d["records"][i]["id"])
        for j in rep_idx_list: e["medians_ns"][j] = value
        e.pop("histograms", None)
    fix_repeat(d)
    if step is not None:
        for j in rep_idx_list: d["workload"]["step_times_ns"][j] = step
    return d
P2 = "repeatability.records[id=gemm-nn-256x768x256-tuned].medians_ns[1] and [id=gemm-nt-256x256x768-tuned].medians_ns[1]"
bad("3-inf-two-products", f"Two workload products' repetition-2 medians = 1e308 ({P2}; their .histograms removed, .spread/.flagged and repeatability.flagged recomputed), workload.step_times_ns[1] = 1e308: the sum is inf, so the step-time check passes", two_products([1], 1e308, 1e308))
bad("3-inf-two-products-keep-step", f"As 3-inf-two-products but workload.step_times_ns[1] left at 217087532: |inf - t| <= 1e-9*inf holds for any t", two_products([1], 1e308, None))
bad("3-inf-step-1ns", f"Two products' repetition-2 medians = 1.7976931348623157e308 ({P2}), workload.step_times_ns[1] = 1.0 (one nanosecond): accepted, ranked first at 3.36 TFLOP/s", two_products([1], 1.7976931348623157e308, 1.0))
bad("3-inf-two-reps", f"As 3-inf-two-products for repetitions 2 and 3 (medians_ns[1] and [2]; step_times_ns[1], [2] = 1e308)", two_products([1, 2], 1e308, 1e308))
d = load(); e = rep(d, d["records"][0]["id"]); e["medians_ns"][1] = 1e308; e.pop("histograms"); fix_repeat(d); d["workload"]["step_times_ns"][1] = 1e308
bad("3-one-1e308-median", "One product's repetition-2 median = 1e308 (repeatability.records[id=gemm-nn-256x768x256-tuned].medians_ns[1], histograms removed) and workload.step_times_ns[1] = 1e308: a finite but absurd (3e291-year) step", d)
d = load()
for e in d["repeatability"]["records"]:
    if e["id"] != "training": e["medians_ns"][1] = 5e-324; e.pop("histograms", None)
fix_repeat(d); d["workload"]["step_times_ns"][1] = 15 * 5e-324
bad("3-subnormal-rep-medians", "Every product's repetition-2 median = 5e-324 (repeatability.records[*≠training].medians_ns[1], histograms removed), workload.step_times_ns[1] = 7.4e-323", d)
d = load(); d["peaks"]["fma_f32"]["best_ns"] = 5e-324
bad("3-subnormal-peak-best-ns", "peaks.fma_f32.best_ns = 5e-324 (subnormal): work/best_ns = inf, and close(x, inf) is true for every x, so fma_f32_tflops is unchecked", d)
d = load(); d["peaks"]["copy"]["best_ns"] = 5e-324
bad("3-subnormal-copy-best-ns", "peaks.copy.best_ns = 5e-324 (copy_gbps unchecked)", d)
d = load(); d["peaks"]["fma_f32"]["best_ns"] = 1e-300; d["peaks"]["fma_f32"]["median_ns"] = 1e-300
bad("3-tiny-peak-best-ns", "peaks.fma_f32.best_ns = median_ns = 1e-300 (work/best overflows to inf)", d)
d = load(); d["peaks"]["fma_f32"]["work_per_run"] = 1e308; d["peaks"]["fma_f32"]["best_ns"] = 1e-10
bad("3-huge-peak-work", "peaks.fma_f32.work_per_run = 1e308, best_ns = 1e-10 (inf again)", d)
d = load(); d["workload"]["repetitions"] = 4294967295
bad("3-repetitions-u32max", "workload.repetitions = 4294967295 with 3 step times: an unfinished workload ('3 of 4294967295 repetitions') still gets a headline and a rank", d)
d = load(); d["workload"]["expected_s"] = 1e308; d["workload"]["took_s"] = 1.7976931348623157e308
bad("3-expected-took-1e308", "workload.expected_s = 1e308, workload.took_s = f64::MAX", d)
raw = open(BASE).read()
bad("3-exponent-400", "Control: records[0].timing.median_ns written as 1e400 (out of f64 range)", raw.replace('"median_ns": 15107607.0', '"median_ns": 1e400', 1))
bad("3-integer-2p64", "Control: host.memory_bytes = 18446744073709551616 (2^64)", raw.replace('"memory_bytes": 25276510208', '"memory_bytes": 18446744073709551616', 1))

# ---- 4: medians that disagree with their histograms; cv
d = load()
for i in range(15):
    t = d["records"][i]["timing"]; set_median(d, i, t["min_ns"], p10=t["min_ns"])
bad("4-median-at-min-all", "Every record's timing.median_ns and p10_ns lowered to its min_ns (records[0..14].timing.median_ns/p10_ns) with the histograms kept; derived figures recomputed so the file is self-consistent: records[*].tflops.median, records[*].efficiency, triplets[0].layers[*].times.*, triplets[0].total.*, workload.step_times_ns[0], repeatability.records[*].medians_ns[0] (+spread/flagged), training.best_gemm_tflops/tflops_vs_best_gemm", d)
d = load(); t = d["records"][2]["timing"]; set_median(d, 2, t["min_ns"], p10=t["min_ns"])
bad("4-median-at-min-one", "records[2].timing.median_ns and p10_ns = min_ns (27522999 -> 16.5 ms-ish min), derived figures recomputed as in 4-median-at-min-all", d)
# repeatability medians lowered to just above each run's histogram minimum (validate checks range only)
def hist_min(s):
    hdr, p = hist_decode(s); idx = 0
    sub_half = 1024
    for x in varints(p):
        if x < 0: idx += -x; continue
        if x > 0: break
        idx += 1
    # index -> value for (low=1, 3 digits): sub_bucket_count 2048, half 1024
    if idx < 2048: return float(idx)
    b = (idx >> 10) - 1; sub = (idx & 1023) + 1024
    return float(sub << b)
d = load()
for e in d["repeatability"]["records"]:
    if e["id"] == "training": continue
    e["medians_ns"][1] = hist_min(e["histograms"][1])
fix_repeat(d)
prods = [x["id"] for x in d["records"] if x.get("role")]
d["workload"]["step_times_ns"][1] = sum(rep(d, i)["medians_ns"][1] for i in prods)
bad("4-rep-medians-at-hist-min", "repeatability.records[*≠training].medians_ns[1] lowered to the lowest bucket of that run's own histograms[1] (inside the range, far from its median), spread/flagged recomputed, workload.step_times_ns[1] = their sum", d)
d = load(); d["records"][0]["timing"]["cv"] = -0.41308752938643806
bad("4-negative-cv", "records[0].timing.cv = -0.413 (negated; stddev_ns/mean_ns = +0.413)", d)
d = load(); d["records"][0]["timing"]["cv"] = 1e308
bad("4-huge-cv", "records[0].timing.cv = 1e308", d)
d = load(); d["records"][0]["timing"]["cv"] = -0.0; d["records"][0]["timing"]["stddev_ns"] = -0.0
bad("4-negzero-stddev-cv", "records[0].timing.stddev_ns = -0.0 and cv = -0.0 while min_ns != max_ns (59 distinct samples)", d)

# ---- 5: training section
d = load(); g = d["training"]["gradient_check"]; g["tolerance"] = 1.0; g["loss_rel_error"] = 0.99; g["gradient_rel_error"] = 0.9; g["update_rel_error"] = 0.5
bad("5-gradcheck-tolerance-1", "training.gradient_check.tolerance = 1.0 with loss_rel_error 0.99, gradient_rel_error 0.9, update_rel_error 0.5, passed true (the file loosens its own check)", d)
d = load(); g = d["training"]["gradient_check"]; g["tolerance"] = 1e308; g["gradient_rel_error"] = 1e300
bad("5-gradcheck-tolerance-1e308", "training.gradient_check.tolerance = 1e308, gradient_rel_error = 1e300, passed true", d)
d = load(); t = d["training"]
for p in t["loss_curve"]: p["loss"] = max(p["loss"], t["target_loss"] * 1.5)
t["loss_end"] = t["loss_curve"][-1]["loss"]
bad("5-reached-target-never-below", "training.loss_curve[*].loss raised to >= 1.5 x target_loss (0.262), training.loss_end = the last point; reached_target: true, steps_to_target 108 kept", d)
d = load(); t = d["training"]
for p in t["loss_curve"]: p["loss"] = 1e308
t["loss_end"] = 1e308
bad("5-loss-1e308", "training.loss_curve[*].loss = 1e308, training.loss_end = 1e308 (validate prints a 309-digit loss), reached_target still true", d)
d = load(); t = d["training"]
for p in t["loss_curve"]: p["loss"] = -1.0
t["loss_curve"][-1]["loss"] = -0.0; t["loss_end"] = -0.0
bad("5-loss-negative", "training.loss_curve[0..10].loss = -1.0 (an MSE cannot be negative), loss_curve[11].loss = loss_end = -0.0", d)

# ---- 6: small files that take long
S6 = "expected: validate, compare (with itself: every record matched; and with the good file), cost, leaderboard, fleet each answer (0 or 2) within 1 s and 100 MB"
case("6-rec500x24k-padded", f"500 extra records (records[15..514], shapes m=1..500 x256x256, role removed) each with timing.samples = 24000 and a histogram of 24000 samples padded with zero-count varints to the payload bound 18*(24000+8) = 432144 bytes (1.2 MB file, 216 MB inflated). {S6}.", "slow_file hostile.json 20", {"hostile.json": many_records(500, 24000, pad=True)})
case("6-rec500x24k", f"500 extra records with timing.samples = 24000 and honest compact histograms (0.9 MB file): compare spends ~0.43 s per matched record on 20000 value_at_quantile walks and 2000 resamples of 20000. {S6}.", "slow_file hostile.json 20", {"hostile.json": many_records(500, 24000, pad=False)})
case("6-rec20x24k", f"20 extra records with timing.samples = 24000 (91 KB file). {S6}.", "slow_file hostile.json 20", {"hostile.json": many_records(20, 24000, pad=False)})
case("6-rep-hists-1mib", f"Every repeatability.records[*].histograms[*] (48) padded with zero-count varints to a 1 MiB payload (124 KB file, 48 MiB inflated). {S6}.", "slow_file hostile.json 20", {"hostile.json": rep_bomb()})
case("6-rep-hists-1mib-x200", f"As 6-rep-hists-1mib plus 200 extra repeatability.records entries (ids extra-0..199, no such record) with three 1 MiB histograms each (1.07 MB file, 648 MiB inflated). {S6}.", "slow_file hostile.json 20", {"hostile.json": rep_bomb(extra=200)})

# ---- 7: run / cost with bad cost inputs
R7 = "expected: exit 2 before measuring (one line, < 1 s), no --out file left"
for nm, args in (("lifetime-5e-324", "--capex-usd 1e10 --watts 1 --lifetime-years 5e-324"),
                 ("utilization-1e-320", "--capex-usd 1e10 --watts 1 --utilization 1e-320")):
    case(f"7-run-{nm}", f"run (tiny) {args} --out a.json. {R7}.", f"""
run_measured run 120 "$B" "${{TINY_RUN[@]}}" {args} --out a.json
absent a.json; stderr_lines_le run 1; expect run 2 1 0
""")
    case(f"7-cost-out-{nm}", f"cost GOOD {args} --out x.json (the priced copy cannot be written: usd_per_hour is null). expected: exit 2 (bad input), one line, no x.json.", f"""
run_measured cost 5 "$B" cost "$REF/good.json" {args} --out x.json
absent x.json; stderr_lines_le cost 1; expect cost 2
""")
    case(f"7-cost-{nm}", f"cost GOOD {args} (no --out). expected: exit 2 naming the flag (the price per hour is not finite), not a breakdown with '—'.", f"""
run_measured cost 5 "$B" cost "$REF/good.json" {args}
stderr_lines_le cost 1; expect cost 2
""")
big_src = '["llvmpipe"]\nusd_per_hour = 0.25\nsource = "' + "x" * 900000 + '"\n'
case("7-run-price-source-900k", f"run (tiny) --price-file big.toml whose source is 900,000 bytes (result files allow 16 KiB). {R7}.", """
run_measured run 120 "$B" "${TINY_RUN[@]}" --price-file big.toml --out a.json
absent a.json; stderr_lines_le run 1; expect run 2 1 0
""", {"big.toml": big_src})
case("7-cost-out-price-source-900k", "cost GOOD --price-file big.toml (900 KB source) --out x.json. expected: exit 2, one line, no x.json.", """
run_measured cost 5 "$B" cost "$REF/good.json" --price-file big.toml --out x.json
absent x.json; stderr_lines_le cost 1; expect cost 2
""", {"big.toml": big_src})
case("7-cost-price-source-900k", "cost GOOD --price-file big.toml (900 KB source), no --out: prints the 900 KB source. expected: exit 2 (the source exceeds the 16 KiB text limit), one line.", """
run_measured cost 5 "$B" cost "$REF/good.json" --price-file big.toml
stderr_lines_le cost 1; expect cost 2
""", {"big.toml": big_src})
case("7-cost-out-not-a-result", "Control: cost schema.json --out x.json (a JSON Schema, not a result file). expected: exit 2, one line, no x.json.", """
"$B" schema > schema.json
run_measured cost 5 "$B" cost schema.json --out x.json
absent x.json; stderr_lines_le cost 1; expect cost 2
""")

# ---- 8: broken pipes
P8 = "expected: exit 0 or 141 (SIGPIPE), no panic message, < 1 s"
for nm, cmd in (("validate", 'validate "$REF/good.json" "$REF/other.json"'), ("schema", "schema"),
                ("devices", "devices"), ("devices-json", "devices --json"), ("kernels", "kernels"),
                ("kernels-json", "kernels --json"), ("leaderboard-check", "leaderboard lb --check"),
                ("leaderboard-write", "leaderboard lb"), ("catalog", "catalog"), ("workloads", "workloads"),
                ("compare", 'compare "$REF/good.json" "$REF/other.json"'), ("cost", 'cost "$REF/good.json"'),
                ("fleet", "fleet lb")):
    case(f"8-closed-pipe-{nm}", f"flopcost {cmd} with stdout a pipe whose reader has exited (tools/closedpipe.py; `... | head -1` races to the same state). {P8}.", f"""
mkdir lb; cp "$REF/good.json" "$REF/other.json" lb/; "$B" leaderboard lb >/dev/null 2>&1
run_closed_pipe pipe "$B" {cmd}
expect pipe '0|141' 2
""")
case("8-validate-head-1", f"The literal form: flopcost validate with 40 file arguments | head -1, exit status via PIPESTATUS. {P8}.", """
args=(); for i in $(seq 40); do args+=("$REF/good.json"); done
/usr/bin/time -f '%e %M' -o pipe.time bash -c '"$@" 2>pipe.err | head -1 >pipe.out; exit ${PIPESTATUS[0]}' _ "$B" validate "${args[@]}"
RC=$?; read -r ELAPSED RSS < <(tail -n 1 pipe.time)
expect pipe '0|141' 2
""")

# ---- 9: validate and compare disagree
d = load(); d["created_at"] += " "
bad("9-created-at-trailing-space", "created_at = \"2026-12-02T01:05:48Z \" (trailing space): validate says not RFC 3339; compare/leaderboard/fleet trim it and accept", d)
d = load(); d["created_at"] = " " + d["created_at"]
bad("9-created-at-leading-space", "created_at = \" 2026-12-02T01:05:48Z\" (leading space)", d)
d = load(); d["workload"]["definition"]["layers"][0]["name"] += " "
bad("9-layer-name-trailing-space", "workload.definition.layers[0].name = \"attn.qkv \": validate finds the digest wrong; compare trims the name and gives a headline", d)
d = load(); d["records"][0]["role"] += " "
bad("9-role-trailing-space", "records[0].role with a trailing space: validate finds no record of that workload product; compare trims and matches", d)
d = load(); d["records"][0]["id"] += " "
bad("9-record-id-trailing-space", "records[0].id = \"gemm-nn-256x768x256-tuned \": validate says triplets[0] names a record not in the file; compare trims and accepts", d)
d = load(); d["$schema"] = d.pop("schema")
bad("9-dollar-schema-no-schema", "A whole result file whose \"schema\" key is renamed \"$schema\": validate says 'skip: a JSON Schema' and exits 0, compare exits 2, leaderboard and fleet drop it silently", d)
# ---- 10: text that would be live in a spreadsheet, a Markdown page, a browser or a terminal
NAMES = {
    "csv-cmd": "=cmd|' /C calc'!A0",
    "csv-plus": "+SUM(1,2)*cmd|x",
    "csv-minus": "-2+3+cmd|' /C calc'!A0",
    "csv-at": "@SUM(A1:A9)",
    "csv-tab": "\tTAB=1+1",
    "csv-cr": "\r=1+1",
    "csv-hyperlink": "=HYPERLINK(\"http://evil.example\",\"x\")",
    "html-script": "<script>alert(1)</script>",
    "html-img": "<img src=x onerror=alert(2)>",
    "html-svg": "<svg onload=alert(6)>",
    "html-close": "</td></tr></table><script>alert(7)</script>",
    "html-attr": "\" onmouseover=\"alert(8)",
    "md-link": "[click](javascript:alert(3))",
    "md-image": "![x](javascript:alert(4))",
    "md-autolink": "<javascript:alert(5)>",
    "md-ref": "[x][1]\n\n[1]: javascript:alert(9)",
    "md-code": "`a` ``b``",
    "md-emph": "**bold** _em_ ~~del~~",
    "md-heading": "# heading",
    "md-list": "- item",
    "md-table": "| forged | 999 | $0.0001 |",
    "md-entity": "&lt;script&gt; &#x2066;",
    "md-backslash": "\\<script>alert(10)\\</script>",
    "md-url": "https://evil.example/x www.evil.example",
    "term-clear": "\u001b[2J\u001b[Hok      fake.json: 15 records",
    "term-title": "\u001b]0;pwned\u0007",
    "term-c1": "\u009b31m red",
    "bidi-isolates": "\u2066evil\u2069 \u2067x\u2068y",
    "bidi-alm": "\u061cx\u200fy\u202ez\u202c",
    "invisible": "a\u200bb\ufeffc\u2060d",
}
for key, text in NAMES.items():
    d = load(BASE2)
    d["adapter"]["name"] = text
    d["adapter"]["backend"] = text
    d["adapter"]["device_type"] = text
    d["warnings"].append(text)
    d["host"]["hostname"] = text
    case(f"10-{key}-fields",
         f"The adapter name, backend, device type, a warning and the host name of a valid file are {text!r}. expected: compare (csv, markdown, html, table), leaderboard's page and fleet's (markdown, html, table), validate and cost give inert text: no formula cell, HTML tag, foreign attribute, link or javascript: URL, control character or direction mark.",
         "hostile_names hostile.json", {"hostile.json": d})
    fname = "".join(c for c in text if c not in "/\0").strip() or "x"
    d = load(BASE2)
    case(f"10-{key}-filename",
         f"A valid file named {fname!r}.json. expected: as the other 10- cases.",
         f"cp hostile.json {shlex.quote('./' + fname + '.json')}\nhostile_names {shlex.quote('./' + fname + '.json')}",
         {"hostile.json": d})

print("generated", len(os.listdir(ROOT)), "cases")
