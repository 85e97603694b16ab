"""Helpers to derive hostile result files from the committed valid ones."""
import json, copy, os
# The reference files are frozen copies of published files (the small v1 workload on lavapipe
# and on llvmpipe GL), so the cases do not move when
# results/ is re-measured.
REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref")
BASE = os.path.join(REF, "good.json")
BASE2 = os.path.join(REF, "other.json")

def load(p=BASE):
    with open(p) as f:
        return json.load(f)

def spread(v):
    if len(v) < 2: return 0.0
    s = sorted(v); n = len(s)
    mid = s[n//2] if n % 2 else (s[n//2-1] + s[n//2]) / 2
    return (s[-1] - s[0]) / mid if mid > 0 else 0.0

def fix_repeat(d):
    """Recompute each repeatability record's spread/flagged and the flagged count."""
    r = d.get("repeatability")
    if not r: return
    for e in r["records"]:
        s = spread(e["medians_ns"])
        e["spread"] = min(s, 1.7e308)
        e["flagged"] = s > r["threshold"]
    r["flagged"] = sum(1 for e in r["records"] if e["flagged"])

def rep(d, rid):
    for e in d["repeatability"]["records"]:
        if e["id"] == rid: return e
    raise KeyError(rid)

def dump(d, path, raw=None):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    s = raw if raw is not None else json.dumps(d, indent=2, allow_nan=False)
    with open(path, "w") as f:
        f.write(s if s.endswith("\n") else s + "\n")

PRODUCTS = ["forward_ns", "input_gradient_ns", "weight_gradient_ns"]
SLOW = ["forward", "input_gradient", "weight_gradient"]

def set_median(d, idx, new_median, p10=None):
    """Set records[idx].timing.median_ns (and optionally p10) and recompute every figure
    derived from it (tflops, efficiency, triplets, workload step 1, repeatability run 1,
    training.best_gemm_tflops) so the file stays self-consistent."""
    r = d["records"][idx]; t = r["timing"]
    t["median_ns"] = new_median
    if p10 is not None: t["p10_ns"] = p10
    r["tflops"]["median"] = r["flops"] / new_median / 1e3
    if r.get("efficiency") is not None:
        r["efficiency"] = r["tflops"]["median"] / d["peaks"]["fma_f32_tflops"]
    byid = {x["id"]: x for x in d["records"]}
    for b in d.get("triplets", []):
        sums = [0.0, 0.0, 0.0]; fl = 0
        for l in b["layers"]:
            tm = l["times"]
            for k, rid in enumerate(l["record_ids"]):
                tm[PRODUCTS[k]] = byid[rid]["timing"]["median_ns"]
            retime(tm)
            for k in range(3): sums[k] += tm[PRODUCTS[k]]
            fl += tm["flops"]
        for k in range(3): b["total"][PRODUCTS[k]] = sums[k]
        retime(b["total"])
    w = d.get("workload")
    if w:
        prods = [x for x in d["records"] if x.get("role")]
        w["step_times_ns"][0] = sum(x["timing"]["median_ns"] for x in prods)
    if d.get("repeatability"):
        for e in d["repeatability"]["records"]:
            if e["id"] == r["id"]: e["medians_ns"][0] = new_median
        fix_repeat(d)
    tr = d.get("training")
    if tr and tr.get("best_gemm_tflops") is not None:
        best = max(x["tflops"]["median"] for x in d["records"] if x.get("tflops") and x["precision"] == tr["precision"])
        tr["best_gemm_tflops"] = best
        tr["tflops_vs_best_gemm"] = tr["tflops"] / best

def retime(tm):
    ts = [tm[p] for p in PRODUCTS]
    tm["step_ns"] = sum(ts)
    tm["tflops"] = tm["flops"] / tm["step_ns"] / 1e3
    mx, mn = max(ts), min(ts)
    tm["slowest"] = SLOW[ts.index(mx)]
    tm["slowest_vs_fastest"] = mx / mn

import base64, struct, zlib
V2 = 0x1c849303 | 0x10
V2D = 0x1c849304 | 0x10

def hist_decode(s):
    """-> (header fields dict, payload bytes)"""
    b = base64.b64decode(s)
    cookie, ln = struct.unpack(">II", b[:8])
    if cookie == V2D:
        v2 = zlib.decompress(b[8:8+ln])
    else:
        v2 = b
    cookie, plen, off, digits, low, high, ratio = struct.unpack(">IIIIQQd", v2[:40])
    return dict(digits=digits, low=low, high=high), v2[40:40+plen]

def varints(payload):
    out = []; i = 0
    while i < len(payload):
        v = 0; shift = 0
        for j in range(9):
            b = payload[i]; i += 1
            if j == 8:
                v |= b << 56; break
            v |= (b & 0x7f) << shift; shift += 7
            if not b & 0x80: break
        out.append((v >> 1) ^ -(v & 1))
    return out

def enc_varint(n):
    z = (n << 1) ^ (n >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    for _ in range(8):
        if z < 0x80:
            out.append(z); return bytes(out)
        out.append((z & 0x7f) | 0x80); z >>= 7
    out.append(z & 0xff); return bytes(out)

def hist_encode(hdr, payload, deflate=True, level=9):
    v2 = struct.pack(">IIIIQQd", V2, len(payload), 0, hdr["digits"], hdr["low"], hdr["high"], 1.0) + payload
    if not deflate:
        return base64.b64encode(v2).decode()
    z = zlib.compress(v2, level)
    return base64.b64encode(struct.pack(">II", V2D, len(z)) + z).decode()

def hist_pad(s, total_payload):
    """Same histogram, payload padded with zero counts (0x00 varints) to total_payload bytes."""
    hdr, p = hist_decode(s)
    pad = max(0, total_payload - len(p))
    return hist_encode(hdr, p + b"\x00" * pad)

def hist_scale(s, samples):
    """Same buckets, counts scaled so that they sum to `samples` (min/max buckets kept)."""
    hdr, p = hist_decode(s)
    v = varints(p)
    tot = sum(x for x in v if x > 0)
    newv = [max(1, round(x * samples / tot)) if x > 0 else x for x in v]
    diff = samples - sum(x for x in newv if x > 0)
    # put the difference on the largest bucket
    k = max(range(len(newv)), key=lambda i: newv[i])
    newv[k] += diff
    assert newv[k] > 0
    return hist_encode(hdr, b"".join(enc_varint(x) for x in newv))
