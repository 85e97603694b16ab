import os, sys, copy; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import *

def rep_bomb(extra=0, size=1<<20):
    """Every repeatability histogram padded with zero counts to `size` payload bytes;
    `extra` more repeatability entries (ids of no record) with three such histograms."""
    d = load()
    r = d["repeatability"]
    for e in r["records"]:
        e["histograms"] = [hist_pad(h, size) for h in e["histograms"]]
    tmpl = r["records"][0]
    for i in range(extra):
        e = copy.deepcopy(tmpl); e["id"] = f"extra-{i}"
        r["records"].append(e)
    fix_repeat(d)
    return d

def many_records(n=500, samples=24000, pad=True):
    """n extra records (distinct shapes m = 1..n, 256x256) whose timing claims `samples`
    samples; the histogram holds them (counts scaled) and is padded with zero counts up to
    the bound 18*(samples+8)."""
    d = load()
    base = d["records"][3]   # gemm-nn-256x256x256-tuned
    h = hist_scale(base["timing"]["histogram"], samples)
    if pad:
        h = hist_pad(h, 18 * (samples + 8))
    for i in range(n):
        r = copy.deepcopy(base)
        m = 1 + i
        r["id"] = f"gemm-nn-{m}x256x256-extra"
        r["role"] = None; r.pop("role")
        r["m"] = m
        r["flops"] = 2 * m * 256 * 256
        r["verification"]["checked_entries"] = m * 256
        t = r["timing"]; t["samples"] = samples; t["histogram"] = h
        r["tflops"]["median"] = r["flops"] / t["median_ns"] / 1e3
        r["tflops"]["best"] = r["flops"] / t["min_ns"] / 1e3
        r["efficiency"] = r["tflops"]["median"] / d["peaks"]["fma_f32_tflops"]
        d["records"].append(r)
    tr = d["training"]
    best = max(x["tflops"]["median"] for x in d["records"])
    tr["best_gemm_tflops"] = best; tr["tflops_vs_best_gemm"] = tr["tflops"] / best
    return d
