#!/usr/bin/env python3
"""The vendor-library side of a comparison: measure the GEMMs of a flopcost result file
with PyTorch (cuBLAS, hipBLAS, MPS, oneDNN, ... underneath) on whatever device it finds,
and write a flopcost result file (schema flopcost/result/v1, `runtime` torch) that
`flopcost compare` shows side by side with the wgpu one.

    python3 scripts/torch_reference.py results/local/run.json --out torch.json
    python3 scripts/torch_reference.py a.json b.json --out-dir results/local
    python3 scripts/torch_reference.py --shape 4096 --layout nn,nt,tn --precision f32,f16 --out t.json
    flopcost compare torch.json results/local/run.json

Every record of the input (kind gemm: precision, layout, M, N, K) is measured the way
flopcost measures it: A and B random in [-1, 1) (seeded), stored in the layout's order
(NT: B stored N×K; TN: A stored K×M, read transposed through views, which the library
handles without copies); C poisoned with NaN and checked against a float64 reference on a
sample of entries (first and last rows and columns plus random ones) before any timing;
warm-up, then each run timed with the device's events (CUDA/HIP, MPS, XPU, NPU events;
the host clock on a CPU) until the time budget or the sample cap. f32 runs with TF32 off;
f16 runs with f32 accumulation (reduced-precision reductions off) and, as PyTorch
returns it, an f16 C (flopcost's f16 GEMMs write C in f32). The timing histograms are HDR
histograms (V2, deflate, base64) of the samples, as flopcost writes them.

Without PyTorch the same measurements run through NumPy on the CPU (`--backend numpy`),
so the script and its output can be tested anywhere; that file's runtime is `numpy`.
The script exits 1 when a product fails verification (it is then recorded untimed), 2 on
bad input.
"""

import argparse
import base64
import datetime
import json
import math
import os
import platform
import random
import re
import struct
import subprocess
import sys
import time
import zlib

SCHEMA = "flopcost/result/v1"
TOLERANCE = {"f32": 1e-4, "f16": 2e-3}
LAYOUTS = ("nn", "nt", "tn")
HISTOGRAM_FORMAT = "hdrhistogram-v2-deflate-base64"


class InputError(Exception):
    """Bad input: exit 2 with one line on stderr."""


# --- HDR histogram, V2 format with deflate (the HdrHistogram interchange format) -------
# Parameters of flopcost's histograms: lowest discernible value 1 ns, 3 significant
# digits, so 2048 sub-buckets (2^11, the power of two above 2·10^3) of which the upper
# half is used past the first bucket.
_SUB_BUCKET_MAGNITUDE = 11
_SUB_BUCKET_HALF_MAGNITUDE = 10
_SUB_BUCKET_HALF = 1 << _SUB_BUCKET_HALF_MAGNITUDE
_SUB_BUCKET_MASK = (1 << _SUB_BUCKET_MAGNITUDE) - 1
_V2_COOKIE = 0x1C849303 | 0x10
_V2_COMPRESSED_COOKIE = 0x1C849304 | 0x10


def _hdr_index(value):
    """The counts-array index of a value (HdrHistogram's counts_array_index)."""
    bucket = (value | _SUB_BUCKET_MASK).bit_length() - _SUB_BUCKET_MAGNITUDE
    sub_bucket = value >> bucket
    return ((bucket + 1) << _SUB_BUCKET_HALF_MAGNITUDE) + (sub_bucket - _SUB_BUCKET_HALF)


def _varint(n, out):
    """LEB128 as HdrHistogram writes it (values here stay far below 2^56)."""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _zigzag(n):
    return 2 * n if n >= 0 else -2 * n - 1


def hdr_encode(samples_ns):
    """base64 of the compressed V2 serialization of an HDR histogram of the samples, each
    rounded to a whole ns (at least 1), as flopcost's `stats::histogram`."""
    values = [max(1, int(math.floor(v + 0.5))) for v in samples_ns]
    counts = {}
    for v in values:
        i = _hdr_index(v)
        counts[i] = counts.get(i, 0) + 1
    limit = _hdr_index(max(values))
    payload = bytearray()
    index = 0
    for i in sorted(counts):
        zeros = i - index
        if zeros == 1:
            _varint(0, payload)
        elif zeros > 1:
            _varint(_zigzag(-zeros), payload)
        _varint(_zigzag(counts[i]), payload)
        index = i + 1
    assert index == limit + 1
    high = max(2, max(values))
    v2 = struct.pack(">IIIIQQd", _V2_COOKIE, len(payload), 0, 3, 1, high, 1.0) + payload
    deflated = zlib.compress(bytes(v2))
    blob = struct.pack(">II", _V2_COMPRESSED_COOKIE, len(deflated)) + deflated
    return base64.b64encode(blob).decode("ascii")


# --- statistics, as flopcost's `stats::summarize` --------------------------------------
def percentile(sorted_values, q):
    rank = int(math.ceil(q * len(sorted_values)))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def summarize(samples):
    s = sorted(samples)
    n = len(s)
    mean = sum(s) / n
    var = sum((v - mean) ** 2 for v in s) / (n - 1) if n > 1 else 0.0
    median = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    std = math.sqrt(var)
    return {
        "samples": n,
        "min_ns": s[0],
        "p10_ns": percentile(s, 0.10),
        "median_ns": median,
        "p90_ns": percentile(s, 0.90),
        "p99_ns": percentile(s, 0.99),
        "max_ns": s[-1],
        "mean_ns": mean,
        "stddev_ns": std,
        "cv": std / mean if mean > 0 else 0.0,
    }


# --- backends: the same measurement through PyTorch or NumPy ----------------------------
class TorchBackend:
    name = "torch"

    def __init__(self, want):
        import torch

        self.torch = torch
        self.kind = self._device_kind(want)
        self.device = torch.device(self.kind if self.kind != "rocm" else "cuda")
        if self.kind in ("cuda", "rocm"):
            # f32 means f32: no TF32. f16 accumulates in f32.
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        torch.set_float32_matmul_precision("highest")
        self.version = torch.__version__

    def _device_kind(self, want):
        torch = self.torch
        kinds = []
        if torch.cuda.is_available():
            kinds.append("rocm" if getattr(torch.version, "hip", None) else "cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            kinds.append("mps")
        if hasattr(torch, "xpu") and torch.xpu.is_available():
            kinds.append("xpu")
        try:
            import torch_npu  # noqa: F401  (registers torch.npu)

            if torch.npu.is_available():
                kinds.append("npu")
        except Exception:
            pass
        kinds.append("cpu")
        if want == "auto":
            return kinds[0]
        if want not in kinds:
            raise InputError(
                f"--device {want}: not available here (PyTorch finds: {', '.join(kinds)})"
            )
        return want

    def module(self):
        """torch.cuda, torch.mps, torch.xpu, torch.npu (None on a CPU)."""
        name = {"rocm": "cuda"}.get(self.kind, self.kind)
        return None if self.kind == "cpu" else getattr(self.torch, name, None)

    def describe(self):
        torch = self.torch
        name, driver, vendor, device_type = platform.processor() or "cpu", "", 0, "cpu"
        if self.kind in ("cuda", "rocm"):
            name = torch.cuda.get_device_name(0)
            device_type = "discrete_gpu"
            driver = nvidia_driver() if self.kind == "cuda" else ""
        elif self.kind == "mps":
            name, device_type, vendor = "Apple GPU (MPS)", "integrated_gpu", 0x106B
        elif self.kind == "xpu":
            name = torch.xpu.get_device_name(0)
            device_type, vendor = "discrete_gpu", 0x8086
        elif self.kind == "npu":
            name = torch.npu.get_device_name(0)
            device_type = "other"
        if self.kind == "cpu":
            name = cpu_model()
        vendor = vendor or vendor_of(name)
        libs = {"python": platform.python_version()}
        if torch.version.cuda:
            libs["cuda"] = torch.version.cuda
        if getattr(torch.version, "hip", None):
            libs["hip"] = torch.version.hip
        try:
            if torch.backends.cudnn.is_available():
                libs["cudnn"] = str(torch.backends.cudnn.version())
        except Exception:
            pass
        try:
            import numpy

            libs["numpy"] = numpy.__version__
        except Exception:
            pass
        return {
            "name": name,
            "vendor_id": vendor,
            "device_type": device_type,
            "backend": self.kind,
            "driver": "NVIDIA" if driver else "",
            "driver_info": driver,
            "runtime_device": str(self.device) + (":0" if self.kind != "cpu" else ""),
            "libraries": libs,
        }

    def dtype(self, precision):
        return self.torch.float32 if precision == "f32" else self.torch.float16

    def random(self, rows, cols, precision, generator_seed):
        torch = self.torch
        # Uniform in [-1, 1), seeded, made on the device itself (a host-side generator
        # would spend seconds per operand on the largest shapes).
        try:
            g = torch.Generator(device=self.device).manual_seed(generator_seed)
            x = torch.rand((rows, cols), generator=g, dtype=torch.float32, device=self.device)
        except RuntimeError:
            g = torch.Generator(device="cpu").manual_seed(generator_seed)
            x = torch.rand((rows, cols), generator=g, dtype=torch.float32).to(self.device)
        return (x * 2.0 - 1.0).to(self.dtype(precision))

    def operands(self, layout, a, b):
        return (a.t() if layout == "tn" else a), (b.t() if layout == "nt" else b)

    def output(self, m, n, precision):
        return self.torch.full(
            (m, n), float("nan"), dtype=self.dtype(precision), device=self.device
        )

    def gemm(self, a_op, b_op, out):
        self.torch.matmul(a_op, b_op, out=out)

    def params(self, precision):
        return {
            "library_call": "torch.matmul (transposes as views)",
            "a_b_dtype": str(self.dtype(precision)).replace("torch.", ""),
            "c_dtype": str(self.dtype(precision)).replace("torch.", ""),
            "accumulate": "float32",
            "tf32": False,
        }

    def unwritten(self, c):
        return int(self.torch.isnan(c).sum().item())

    def rows_cols_f64(self, a_op, b_op, rows, cols):
        torch = self.torch
        ri = torch.tensor(rows, dtype=torch.long, device=a_op.device)
        ci = torch.tensor(cols, dtype=torch.long, device=b_op.device)
        ra = a_op.index_select(0, ri).to("cpu").double()
        cb = b_op.index_select(1, ci).to("cpu").double()
        return ra, cb

    def reference(self, ra, cb, i_pos, j_pos):
        return (ra[i_pos] * cb[:, j_pos].t()).sum(dim=1).tolist()

    def values(self, c, rows, cols):
        torch = self.torch
        ri = torch.tensor(rows, dtype=torch.long, device=c.device)
        ci = torch.tensor(cols, dtype=torch.long, device=c.device)
        return c[ri, ci].to("cpu").double().tolist()

    def sync(self):
        m = self.module()
        if m is not None and hasattr(m, "synchronize"):
            m.synchronize()

    def time_runs(self, fn, count):
        """ns of each of `count` runs: device events where the runtime has them."""
        m = self.module()
        event = getattr(m, "Event", None) if m is not None else None
        if event is None and self.kind == "mps":
            event = getattr(getattr(self.torch.mps, "event", None), "Event", None)
        if event is None:
            out = []
            for _ in range(count):
                self.sync()
                t0 = time.perf_counter_ns()
                fn()
                self.sync()
                out.append(float(time.perf_counter_ns() - t0))
            return out, "host_clock"
        pairs = [(event(enable_timing=True), event(enable_timing=True)) for _ in range(count)]
        for start, end in pairs:
            start.record()
            fn()
            end.record()
        self.sync()
        return [start.elapsed_time(end) * 1e6 for start, end in pairs], "device_event"


class NumpyBackend:
    """The same measurement on the CPU through NumPy's BLAS, for machines without PyTorch.
    f16 operands are stored in f16 and multiplied by converting them to f32 (NumPy has no
    f16 GEMM with f32 accumulation), so its f16 timings include that conversion."""

    name = "numpy"

    def __init__(self, want):
        import numpy

        if want not in ("auto", "cpu"):
            raise InputError(f"--device {want}: the numpy backend runs on the CPU only")
        self.np = numpy
        self.kind = "cpu"
        self.version = numpy.__version__

    def describe(self):
        libs = {"python": platform.python_version()}
        try:
            cfg = self.np.show_config(mode="dicts")
            blas = cfg.get("Build Dependencies", {}).get("blas", {})
            if blas.get("name"):
                libs["blas"] = f"{blas.get('name')} {blas.get('version', '')}".strip()
        except Exception:
            pass
        name = cpu_model()
        return {
            "name": name,
            "vendor_id": vendor_of(name),
            "device_type": "cpu",
            "backend": "cpu",
            "driver": "",
            "driver_info": "",
            "runtime_device": "cpu",
            "libraries": libs,
        }

    def random(self, rows, cols, precision, generator_seed):
        rng = self.np.random.default_rng(generator_seed)
        x = (rng.random((rows, cols), dtype=self.np.float32) * 2.0 - 1.0).astype(
            self.np.float32
        )
        return x.astype(self.np.float16) if precision == "f16" else x

    def operands(self, layout, a, b):
        return (a.T if layout == "tn" else a), (b.T if layout == "nt" else b)

    def output(self, m, n, precision):
        return self.np.full((m, n), self.np.nan, dtype=self.np.float32)

    def gemm(self, a_op, b_op, out):
        if a_op.dtype == self.np.float16:
            self.np.matmul(a_op.astype(self.np.float32), b_op.astype(self.np.float32), out=out)
        else:
            self.np.matmul(a_op, b_op, out=out)

    def params(self, precision):
        return {
            "library_call": "numpy.matmul (transposes as views)",
            "a_b_dtype": "float32" if precision == "f32" else "float16",
            "c_dtype": "float32",
            "accumulate": "float32",
        }

    def unwritten(self, c):
        return int(self.np.isnan(c).sum())

    def rows_cols_f64(self, a_op, b_op, rows, cols):
        return (
            a_op[self.np.array(rows)].astype(self.np.float64),
            b_op[:, self.np.array(cols)].astype(self.np.float64),
        )

    def reference(self, ra, cb, i_pos, j_pos):
        return (ra[i_pos] * cb[:, j_pos].T).sum(axis=1).tolist()

    def values(self, c, rows, cols):
        return c[self.np.array(rows), self.np.array(cols)].astype(self.np.float64).tolist()

    def sync(self):
        pass

    def time_runs(self, fn, count):
        out = []
        for _ in range(count):
            t0 = time.perf_counter_ns()
            fn()
            out.append(float(time.perf_counter_ns() - t0))
        return out, "host_clock"


# --- the machine ------------------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def vendor_of(name):
    n = name.lower()
    for key, vid in (("nvidia", 0x10DE), ("amd", 0x1002), ("radeon", 0x1002),
                     ("instinct", 0x1002), ("intel", 0x8086), ("apple", 0x106B)):
        if key in n:
            return vid
    return 0


def nvidia_driver():
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else ""
    except Exception:
        return ""


def host():
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        mem = 0
    return {
        "os": f"{platform.system()} {platform.version()}".strip(),
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count() or 1,
        "memory_bytes": int(mem),
    }


def tool():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    version = "unknown"
    try:
        with open(os.path.join(root, "Cargo.toml")) as f:
            m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M)
            version = m.group(1) if m else version
    except OSError:
        pass
    commit = "unknown"
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            commit = out.stdout.strip()
    except Exception:
        pass
    return {"name": "flopcost torch_reference.py", "version": version, "git_commit": commit}


def slug(s):
    out = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    return out or "device"


# --- what to measure ----------------------------------------------------------------------
def parse_shape(s):
    parts = re.split(r"[xX×]", s.strip())
    if len(parts) == 1:
        parts = parts * 3
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
        raise InputError(f"invalid shape '{s}': expected MxNxK or N, each a whole number ≥ 1")
    return tuple(int(p) for p in parts)


def records_of(path):
    """The GEMM records of a flopcost result file, one per (precision, layout, m, n, k)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read it as JSON: {e}")
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InputError(f"{path}: not a flopcost result file (schema {SCHEMA})")
    out = []
    for r in data.get("records", []):
        if r.get("kind") != "gemm":
            continue
        if r.get("precision") not in TOLERANCE or r.get("layout") not in LAYOUTS:
            continue
        out.append({
            "precision": r["precision"], "layout": r["layout"],
            "m": int(r["m"]), "n": int(r["n"]), "k": int(r["k"]), "role": r.get("role"),
        })
    return data, out


def dedup(cases):
    seen, out = set(), []
    for c in cases:
        key = (c["precision"], c["layout"], c["m"], c["n"], c["k"])
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def sample_entries(m, n, seed, count=1024):
    """Entries checked, as flopcost checks them: every one of a small C, else every entry
    of the first and last rows and columns, one seeded entry in every 16x16 cell of C (so
    a wrong block of any kernel is caught) and `count` more seeded entries."""
    if m * n <= 4096:
        return [(i, j) for i in range(m) for j in range(n)], "full"
    rng = random.Random(seed)
    picked = set()
    for j in range(n):
        picked.update({(0, j), (m - 1, j)})
    for i in range(m):
        picked.update({(i, 0), (i, n - 1)})
    for i0 in range(0, m, 16):
        for j0 in range(0, n, 16):
            picked.add((i0 + rng.randrange(min(16, m - i0)), j0 + rng.randrange(min(16, n - j0))))
    for _ in range(count):
        picked.add((rng.randrange(m), rng.randrange(n)))
    return sorted(picked), "sampled"


# --- one record -----------------------------------------------------------------------------
def measure(be, case, args, index):
    prec, layout, m, n, k = case["precision"], case["layout"], case["m"], case["n"], case["k"]
    seed = (args.seed * 1_000_003 + index) & 0x7FFFFFFF
    a_shape = (k, m) if layout == "tn" else (m, k)
    b_shape = (n, k) if layout == "nt" else (k, n)
    a = be.random(*a_shape, prec, seed)
    b = be.random(*b_shape, prec, seed + 1)
    a_op, b_op = be.operands(layout, a, b)
    c = be.output(m, n, prec)
    tol = TOLERANCE[prec]
    # Verify before timing, on a poisoned output.
    be.gemm(a_op, b_op, c)
    be.sync()
    entries, method = sample_entries(m, n, seed)
    rows = sorted({i for i, _ in entries})
    cols = sorted({j for _, j in entries})
    rpos = {r: p for p, r in enumerate(rows)}
    cpos = {c_: p for p, c_ in enumerate(cols)}
    ra, cb = be.rows_cols_f64(a_op, b_op, rows, cols)
    ref = []
    chunk = 4096
    for s in range(0, len(entries), chunk):
        part = entries[s:s + chunk]
        ref += be.reference(ra, cb, [rpos[i] for i, _ in part], [cpos[j] for _, j in part])
    got = be.values(c, [i for i, _ in entries], [j for _, j in entries])
    num = sum((g - r) ** 2 for g, r in zip(got, ref))
    den = sum(r * r for r in ref)
    rel = math.sqrt(num / den) if den > 0 else math.sqrt(num)
    rel_error = rel if math.isfinite(rel) else None
    unwritten = be.unwritten(c)
    passed = unwritten == 0 and rel_error is not None and rel_error <= tol
    flops = 2 * m * n * k
    suffix = "" if prec == "f32" else f"-{prec}"
    record = {
        "id": f"gemm-{layout}-{m}x{n}x{k}-{be.name}{suffix}",
        "kind": "gemm",
        "precision": prec,
        "layout": layout,
        "m": m, "n": n, "k": k,
        "kernel": {"name": f"{be.name}.matmul", "params": be.params(prec)},
        "flops": flops,
        "verification": {
            "rel_error": rel_error, "tolerance": tol, "passed": passed,
            "checked_entries": len(entries), "method": method,
            "unwritten_entries": unwritten,
        },
        "timing": None,
        "tflops": None,
    }
    if case.get("role"):
        record["role"] = case["role"]
    if not passed:
        return record, f"{layout} {m}x{n}x{k} {prec}: verification FAILED (relative error " \
                       f"{rel_error}, {unwritten} unwritten); not timed"

    def run():
        be.gemm(a_op, b_op, c)

    # Warm-up: at least 3 runs and up to a tenth of the budget.
    t0 = time.perf_counter()
    warm = 0
    while warm < 3 or (time.perf_counter() - t0 < args.time_budget / 10 and warm < 50):
        run()
        warm += 1
    be.sync()
    per_run = max((time.perf_counter() - t0) / warm, 1e-7)
    samples, timing_method = [], "host_clock"
    start = time.perf_counter()
    while len(samples) < args.max_samples and (
        len(samples) < args.min_samples or time.perf_counter() - start < args.time_budget
    ):
        batch = int(max(1, min(args.max_samples - len(samples),
                               max(1.0, args.time_budget / 10 / per_run), 256)))
        got_ns, timing_method = be.time_runs(run, batch)
        samples += got_ns
    samples = [max(v, 1.0) for v in samples]
    s = summarize(samples)
    record["timing"] = dict(
        method=timing_method, warmup_runs=warm, histogram=hdr_encode(samples),
        histogram_format=HISTOGRAM_FORMAT, **s,
    )
    record["tflops"] = {"median": flops / s["median_ns"] / 1e3, "best": flops / s["min_ns"] / 1e3}
    note = None
    if s["cv"] > 0.10:
        note = f"{layout} {m}x{n}x{k} {prec}: noisy timing (coefficient of variation " \
               f"{100 * s['cv']:.0f}%)"
    return record, note


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
    )
    ap.add_argument("files", nargs="*", help="flopcost result files whose GEMMs to measure")
    ap.add_argument("--shape", action="append", default=[], help="MxNxK (or N); repeatable")
    ap.add_argument("--layout", default="nn", help="layouts for --shape (nn,nt,tn)")
    ap.add_argument("--precision", default=None,
                    help="precisions: for --shape (default f32), or a filter on the files")
    ap.add_argument("--out", help="result file (one input, or --shape)")
    ap.add_argument("--out-dir", help="one result file per input: <device>-torch-<rest>.json")
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs")
    ap.add_argument("--device", default="auto",
                    help="auto (cuda, rocm, mps, xpu, npu, else cpu) or one of them")
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "numpy"],
                    help="auto: torch if installed, else numpy (CPU)")
    ap.add_argument("--time-budget", type=float, default=0.5, help="sampling seconds per GEMM")
    ap.add_argument("--total-budget", type=float, default=3600.0,
                    help="seconds for all of it; GEMMs that would not fit are skipped")
    ap.add_argument("--min-samples", type=int, default=10)
    ap.add_argument("--max-samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", "-q", action="store_true")
    args = ap.parse_args()

    if not (args.time_budget > 0 and args.total_budget > 0 and 1 <= args.min_samples
            <= args.max_samples):
        raise InputError("budgets must be positive and 1 <= --min-samples <= --max-samples")
    precisions = None
    if args.precision is not None:
        precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
        if not precisions or any(p not in TOLERANCE for p in precisions):
            raise InputError(f"--precision {args.precision}: expected f32, f16 or f32,f16")
    jobs = []  # (input path or None, input data or None, cases)
    if args.shape:
        if args.files:
            raise InputError("give result files or --shape, not both")
        layouts = [x.strip().lower() for x in args.layout.split(",") if x.strip()]
        if not layouts or any(x not in LAYOUTS for x in layouts):
            raise InputError(f"--layout {args.layout}: expected nn, nt, tn or a list")
        cases = [dict(precision=p, layout=lay, m=m, n=n, k=k, role=None)
                 for p in (precisions or ["f32"]) for (m, n, k) in map(parse_shape, args.shape)
                 for lay in layouts]
        jobs.append((None, None, dedup(cases)))
    else:
        if not args.files:
            raise InputError("give flopcost result files, or --shape (see --help)")
        for path in args.files:
            data, cases = records_of(path)
            if precisions:
                cases = [c for c in cases if c["precision"] in precisions]
            if not cases:
                raise InputError(f"{path}: no GEMM records to measure")
            jobs.append((path, data, dedup(cases)))
    if args.out and len(jobs) > 1:
        raise InputError("--out takes one input; use --out-dir for several")
    if not args.out and not args.out_dir:
        raise InputError("give --out FILE or --out-dir DIR")

    backend = args.backend
    if backend == "auto":
        try:
            import torch  # noqa: F401

            backend = "torch"
        except ImportError:
            backend = "numpy"
    try:
        be = TorchBackend(args.device) if backend == "torch" else NumpyBackend(args.device)
    except ImportError as e:
        raise InputError(f"--backend {backend}: {e}; install it (pip install {backend})")
    dev = be.describe()
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    log(f"{be.name} {be.version} on {dev['runtime_device']} ({dev['name']})")

    outputs = []
    for path, data, _ in jobs:
        if args.out:
            out = args.out
        else:
            stem = os.path.splitext(os.path.basename(path or "shapes"))[0]
            if data:
                src = slug(data.get("adapter", {}).get("name", ""))
                for prefix in (f"{src}-{data.get('adapter', {}).get('backend', '')}-", f"{src}-"):
                    if stem.startswith(prefix):
                        stem = stem[len(prefix):]
                        break
            out = os.path.join(args.out_dir, f"{slug(dev['name'])}-{be.name}-{stem}.json")
        if os.path.exists(out) and not args.force:
            raise InputError(f"{out} exists; pass --force to overwrite it")
        outputs.append(out)

    failures = 0
    started = time.perf_counter()
    for (path, data, cases), out in zip(jobs, outputs):
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        records, warnings = [], []
        if dev["device_type"] == "cpu":
            warnings.append(f"{be.name} ran on the CPU ({dev['name']}): its figures say "
                            "nothing about GPUs")
        for i, case in enumerate(cases):
            label = f"{case['layout']} {case['m']}x{case['n']}x{case['k']} {case['precision']}"
            if time.perf_counter() - started > args.total_budget:
                warnings.append(f"{label}: skipped, over --total-budget")
                continue
            log(f"[{i + 1}/{len(cases)}] {label}")
            try:
                record, note = measure(be, case, args, i)
            except Exception as e:  # out of memory, unsupported dtype on this device
                if "out of memory" in str(e).lower() or "not implemented" in str(e).lower():
                    warnings.append(f"{label}: skipped: {str(e).splitlines()[0]}")
                    try:
                        be.torch.cuda.empty_cache()
                    except Exception:
                        pass
                    continue
                raise
            if note:
                warnings.append(note)
                log(f"  {note}")
            if not record["verification"]["passed"]:
                failures += 1
            elif not args.quiet:
                log(f"  {record['tflops']['median']:.4g} TFLOP/s median "
                    f"({record['timing']['samples']} samples, {record['timing']['method']})")
            records.append(record)
        settings = {
            "suite": "reference",
            "seed": args.seed,
            "time_budget_s": args.time_budget,
            "total_budget_s": args.total_budget,
            "max_samples": args.max_samples,
            "min_samples": args.min_samples,
            "kernels": [f"{be.name}.matmul"],
            "timing": "auto",
            "command_line": [sys.executable] + sys.argv,
            "precisions": sorted({c["precision"] for c in cases}, key=["f32", "f16"].index),
        }
        result = {
            "schema": SCHEMA,
            "tool": tool(),
            "created_at": created,
            "complete": True,
            "host": host(),
            "adapter": {
                "index": 0, "name": dev["name"], "vendor_id": dev["vendor_id"], "device_id": 0,
                "device_type": dev["device_type"], "backend": dev["backend"],
                "driver": dev["driver"], "driver_info": dev["driver_info"],
                "features": [], "limits": {}, "cooperative_matrix": [],
            },
            "settings": settings,
            "records": records,
            "warnings": warnings,
            "runtime": {
                "name": be.name, "version": be.version, "device": dev["runtime_device"],
                "libraries": dev["libraries"],
            },
        }
        if path:
            result["warnings"].insert(0, f"measures the GEMM records of {os.path.basename(path)}")
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(tmp, out)
        print(f"result file: {out}")
    if failures:
        print(f"error: {failures} product(s) failed verification and were not timed",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
