#!/usr/bin/env bash
# One-call check on a GPU machine: make Vulkan reachable (the machine may have the
# driver but no loader), list the adapters, pick the GPU's Vulkan adapter, tune the
# kernels in f32 and f16 (f16 on cooperative matrices where the adapter has them), run
# the standard suite with the peaks and the products of a 7-8B model's dense layers in
# both precisions, measure the same GEMMs with the vendor library through PyTorch
# (scripts/torch_reference.py), run the named workloads decoder-8b v2 (mixed precision,
# attention, LM head) and decoder-8b-f32, write the result files to $OUT/results/ and
# print a short table and the wgpu-vs-vendor comparisons last. Power is measured through
# nvidia-smi where the GPU is NVIDIA's (the run finds it by the adapter's PCI bus id).
#
#   OUT=results/local bash scripts/gpu-check.sh     (from the project root)
#
# Writes $OUT/results/<gpu>-vulkan-*.json (flopcost) and $OUT/results/<gpu>-torch-*.json
# (PyTorch), e.g. results/nvidia-h200-vulkan-standard-<time>.json, plus logs in $OUT.
# Needs the prebuilt binary at target/release/flopcost (cargo build --release), python3
# with torch for the reference (skipped with a warning without it; TORCH_BACKEND=auto
# lets it fall back to NumPy on the CPU, for dry runs) and, when the machine has no
# Vulkan loader, the loader packages in .gl/ (fetched beforehand on a machine with
# package access). It never changes clocks, power limits or GPU modes. Each step has a
# budget and a hard timeout: about 9 minutes in all on one H200 (at most about 12 if
# every step ran into its timeout).
#
# Dry run without a GPU: SOFTWARE_OK=1 QUICK=1 accepts a software adapter and uses small
# shapes and budgets (checks the script, measures nothing of interest).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-results/local}
BIN=${FLOPCOST_BIN:-target/release/flopcost}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES="$OUT/results"
mkdir -p "$RES"
QUICK=${QUICK:-0}
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

if [ ! -x "$BIN" ]; then
  echo "error: $BIN not found; build it first: cargo build --release" >&2
  exit 1
fi

# --- Vulkan loader and ICD (the steps of the shared GPU prelude) --------------------
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if compgen -G ".gl/*.deb" >/dev/null; then
    log "no Vulkan loader: unpacking the packages in .gl/"
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "warning: no Vulkan loader (libvulkan.so.1) and no packages in .gl/" >&2
  fi
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
if [ -z "${VK_DRIVER_FILES:-}" ] && [ ! -e /usr/share/vulkan/icd.d/nvidia_icd.json ] \
  && [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit \
    --format=csv,noheader | tee "$OUT/nvidia-smi.txt" >&2 || true
fi

# --- The GPU's Vulkan adapter --------------------------------------------------------
log "adapters"
"$BIN" devices >&2 || true
"$BIN" devices --json --backend vulkan >"$OUT/devices-vulkan.json"
# The first discrete GPU, else integrated, else virtual (top-level objects are indented
# by two spaces, their fields by four).
ADAPTER=$(awk '
  /^  \{/ { t = ""; i = "" }
  /^    "device_type":/ { t = $2 }
  /^    "index":/ { i = $2; gsub(/[^0-9]/, "", i) }
  /^  \}/ {
    if (t ~ /discrete/ && d == "") d = i
    if (t ~ /integrated/ && g == "") g = i
    if (t ~ /virtual/ && v == "") v = i
  }
  /^  \}/ { if (t ~ /cpu/ && c == "") c = i }
  END {
    if (d != "") print d; else if (g != "") print g; else if (v != "") print v
    else if (ENVIRON["SOFTWARE_OK"] == "1" && c != "") print c
  }
' "$OUT/devices-vulkan.json")
if [ -z "$ADAPTER" ]; then
  echo "error: no Vulkan GPU adapter found (only software ones?); check the driver and" \
    "the loader (.gl/), VK_DRIVER_FILES, and \`$BIN devices\`" >&2
  exit 1
fi
NAME=$(awk -v want="$ADAPTER" '
  /^  \{/ { n = ""; i = "" }
  /^    "name":/ { n = $0; sub(/^    "name": "/, "", n); sub(/",?$/, "", n) }
  /^    "index":/ { i = $2; gsub(/[^0-9]/, "", i) }
  /^  \}/ { if (i == want) { print n; exit } }
' "$OUT/devices-vulkan.json")
SLUG=$(echo "$NAME" | tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//')
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
log "adapter $ADAPTER: $NAME (vulkan)"
A=(--adapter "$ADAPTER" --backend vulkan)

# The dense layers of a 7-8B model (Llama-3-8B: hidden 4096, GQA q+k+v 6144, FFN 14336)
# with 4096 tokens, as (layout: shapes) of their three training products.
TOK=4096
NN_SHAPES=(${TOK}x6144x4096 ${TOK}x4096x4096 ${TOK}x14336x4096 ${TOK}x4096x14336)
NT_SHAPES=(${TOK}x4096x6144 ${TOK}x4096x4096 ${TOK}x4096x14336 ${TOK}x14336x4096)
TN_SHAPES=(4096x6144x${TOK} 4096x4096x${TOK} 4096x14336x${TOK} 14336x4096x${TOK})
shape_args() { for s in "$@"; do printf -- '--shape %s ' "$s"; done; }
# Budgets in seconds: tune (default shapes per precision, 8B shapes per layout), runs
# (standard, 8B per layout), the PyTorch reference (sampling per GEMM, all of it).
# Each can be set from the environment (a shorter lease: TUNE_B=20 TUNE_L=0 ...); TUNE_L=0
# leaves the 8B layer products to the runs' own --tune-budget.
TUNE_B=${TUNE_B:-35} TUNE_L=${TUNE_L:-15} RUN_STD=${RUN_STD:-60} RUN_L=${RUN_L:-20}
REF_T=${REF_T:-0.2} REF_ALL=${REF_ALL:-80} SUITE=standard TUNE_SHAPES=()
# The named workloads (2 repetitions each, a hard timeout per workload, seconds).
WORKLOADS=(decoder-8b decoder-8b-f32) WL_REPEAT=${WL_REPEAT:-2} WL_T=${WL_T:-150}
if [ "$QUICK" = 1 ]; then
  NN_SHAPES=(64x96x128) NT_SHAPES=(64x128x96) TN_SHAPES=(128x96x64)
  TUNE_B=10 TUNE_L=5 RUN_STD=30 RUN_L=10 REF_T=0.05 REF_ALL=60 SUITE=quick TUNE_SHAPES=(--shape 256)
  WORKLOADS=(small small-f32) WL_REPEAT=1 WL_T=300
fi
P=(--precision f32,f16)

# --- Tuning (cached per adapter, driver and version) ---------------------------------
export FLOPCOST_CACHE_DIR=${FLOPCOST_CACHE_DIR:-$OUT/tune-cache}
for prec in f32 f16; do
  log "tuning the default shapes in $prec (cache: $FLOPCOST_CACHE_DIR)"
  timeout $((TUNE_B + 20)) "$BIN" tune "${A[@]}" "${TUNE_SHAPES[@]}" --precision "$prec" \
    --budget "$TUNE_B" --quiet >"$OUT/tune-default-$prec.txt" 2>&1 || \
    echo "warning: tuning the default shapes in $prec stopped early (see $OUT/tune-default-$prec.txt)" >&2
done
for l in nn nt tn; do
  [ "$TUNE_L" -gt 0 ] || break
  case $l in nn) S=("${NN_SHAPES[@]}") ;; nt) S=("${NT_SHAPES[@]}") ;; tn) S=("${TN_SHAPES[@]}") ;; esac
  log "tuning the 8B layer products, $l, f32 and f16"
  # shellcheck disable=SC2046
  timeout $((TUNE_L + 20)) "$BIN" tune "${A[@]}" --layout "$l" $(shape_args "${S[@]}") "${P[@]}" \
    --budget "$TUNE_L" --quiet >"$OUT/tune-8b-$l.txt" 2>&1 || echo "warning: tuning $l stopped early" >&2
done

# --- Runs ----------------------------------------------------------------------------
STD="$RES/$SLUG-vulkan-standard-$STAMP.json"
log "$SUITE suite in f32 and f16, with peaks -> $STD"
timeout $((RUN_STD + 40)) "$BIN" run "${A[@]}" --suite "$SUITE" --kernel tuned "${P[@]}" \
  --total-budget "$RUN_STD" --tune-budget 15 --quiet --out "$STD" >"$OUT/run-standard.txt" 2>&1 || \
  echo "warning: the standard run stopped early; what it measured is in $STD" >&2
for l in nn nt tn; do
  case $l in nn) S=("${NN_SHAPES[@]}") ;; nt) S=("${NT_SHAPES[@]}") ;; tn) S=("${TN_SHAPES[@]}") ;; esac
  F="$RES/$SLUG-vulkan-8b-$l-$STAMP.json"
  log "8B layer products, $l, f32 and f16 -> $F"
  # shellcheck disable=SC2046
  timeout $((RUN_L + 20)) "$BIN" run "${A[@]}" --layout "$l" $(shape_args "${S[@]}") "${P[@]}" \
    --kernel tuned --time-budget 0.3 --total-budget "$RUN_L" --tune-budget 5 --no-peaks \
    --quiet --out "$F" >"$OUT/run-8b-$l.txt" 2>&1 || echo "warning: the $l run stopped early; see $F" >&2
done

for f in "$RES"/$SLUG-vulkan-*-"$STAMP".json; do
  "$BIN" validate "$f" >&2 || true
done

# --- The named workloads: decoder-8b v2 and its f32 counterpart ----------------------
# (files named -workload-, so the vendor-library step below leaves them out: it has no
# batched products.) decoder-8b v2 measures the peaks, for the efficiency of its
# cooperative-matrix records against the matrix peak.
for w in "${WORKLOADS[@]}"; do
  F="$RES/$SLUG-workload-$w-$STAMP.json"
  PK=()
  case $w in *-f32) PK=(--no-peaks) ;; esac
  log "workload $w, $WL_REPEAT repetitions -> $F"
  timeout "$WL_T" "$BIN" run "${A[@]}" --workload "$w" --repeat "$WL_REPEAT" "${PK[@]}" \
    --quiet --out "$F" >"$OUT/run-workload-$w.txt" 2>&1 || \
    echo "warning: workload $w stopped early; what it measured is in $F (see $OUT/run-workload-$w.txt)" >&2
  "$BIN" validate "$F" >&2 || true
done

# --- The vendor library on the same GEMMs (PyTorch) ----------------------------------
TORCH_BACKEND=${TORCH_BACKEND:-torch}
TORCH_FILES=() WGPU_FILES=()
if command -v python3 >/dev/null && { [ "$TORCH_BACKEND" != torch ] || python3 -c 'import torch' 2>/dev/null; }; then
  log "PyTorch reference on the same GEMMs ($TORCH_BACKEND)"
  WGPU_FILES=("$RES"/$SLUG-vulkan-*-"$STAMP".json)
  DEVICE=auto
  if [ "$TORCH_BACKEND" = torch ] && [ "$QUICK" != 1 ]; then DEVICE=cuda; fi
  if timeout $((REF_ALL + 40)) python3 scripts/torch_reference.py "${WGPU_FILES[@]}" \
      --backend "$TORCH_BACKEND" --device "$DEVICE" --out-dir "$RES" --force \
      --time-budget "$REF_T" --total-budget "$REF_ALL" --max-samples 200 --quiet \
      >"$OUT/torch-reference.txt" 2>&1; then
    :
  else
    echo "warning: the PyTorch reference failed or stopped early (see $OUT/torch-reference.txt)" >&2
  fi
  mapfile -t TORCH_FILES < <(sed -n 's/^result file: //p' "$OUT/torch-reference.txt")
  for f in "${TORCH_FILES[@]}"; do "$BIN" validate "$f" >&2 || true; done
else
  echo "warning: no python3 with torch: the vendor-library reference was skipped" >&2
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv,noheader >&2 || true
fi

# --- Short table, then the comparisons, last -----------------------------------------
log "summary"
if command -v python3 >/dev/null; then
  python3 - "$RES" "$STAMP" "$SLUG" <<'PY'
import glob, json, sys
res, stamp, slug = sys.argv[1:4]
files = sorted(glob.glob(f"{res}/{slug}-vulkan-*-{stamp}.json"))
peaks = None
rows = []
for f in files:
    d = json.load(open(f))
    peaks = peaks or d.get("peaks")
    for r in d["records"]:
        tf = (r.get("tflops") or {}).get("median")
        rows.append((r["layout"], f'{r["m"]}x{r["n"]}x{r["k"]}', r.get("precision", "f32"),
                     r["kernel"].get("path", "-"), tf, r.get("efficiency"),
                     r["kernel"].get("source", "-"), r["verification"]["passed"]))
if peaks:
    f16 = peaks.get("fma_f16_tflops")
    print(f'peaks: FMA f32 {peaks["fma_f32_tflops"]:.4g} TFLOP/s'
          + (f', FMA f16 {f16:.4g} TFLOP/s' if f16 else '')
          + f', copy {peaks["copy_gbps"] / 1000:.4g} TB/s')
print(f'{"layout":6} {"shape":20} {"prec":4} {"path":7} {"TFLOP/s":>9} {"of peak":>8} {"source":>9} verified')
for l, s, p, path, tf, eff, src, ok in rows:
    tfs = (f"{tf:9.2f}" if tf >= 1 else f"{tf:9.3g}") if tf else "        -"
    es = f"{100 * eff:7.1f}%" if eff else "       -"
    print(f"{l:6} {s:20} {p:4} {path:7} {tfs} {es} {src:>9} {'yes' if ok else 'FAILED'}")
for f in sorted(glob.glob(f"{res}/{slug}-workload-*-{stamp}.json")):
    d = json.load(open(f))
    w = d.get("workload") or {}
    t = w.get("step_times_ns") or []
    m = w.get("model_step") or {}
    ok = all(r["verification"]["passed"] for r in d["records"])
    line = f'workload {w.get("name")} v{w.get("version")}: paths {"+".join(w.get("paths", [])) or "-"}'
    if t:
        line += f', step {w["step_flops"] / (sum(t) / len(t)) / 1e3:.4g} TFLOP/s ({len(t)} repetitions)'
    if m:
        line += f', {m["model"]} {m["tokens_per_second"]:.4g} tokens/s'
    print(line + f', all verified: {"yes" if ok else "NO"}, complete: {d.get("complete")}')
    p, c = d.get("power"), d.get("cost") or {}
    if p:
        jm = c.get("joules_per_pflop_training_measured")
        print(f'  power ({p["source"]}: {p["method"]}): idle {p.get("idle_watts")} W, '
              f'mean {c.get("measured_watts")} W over the step, '
              f'{jm if jm is None else round(jm, 1)} J/PFLOP measured')
PY
fi
# The reference writes one file per input, in order: pair them up.
for i in "${!TORCH_FILES[@]}"; do
  t=${TORCH_FILES[$i]} w=${WGPU_FILES[$i]:-}
  [ -f "$t" ] && [ -f "$w" ] || continue
  log "wgpu vs vendor library: $(basename "$w") against $(basename "$t")"
  "$BIN" compare "$t" "$w" | tee "$OUT/compare-$(basename "$w" .json).txt" || true
done
