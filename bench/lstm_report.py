#!/usr/bin/python3
"""Summarise bench/run train | infer | latency | roof results.

Input: one measurement per line, "side<TAB>" followed by the TSV line the
program printed ("mode H threads B value unit key=value..."), where side is
libclv, onednn, torch or sgemm. Prints medians per configuration, then the
ratios, and as the LAST line

    RATIO <name> <value>

train/infer/latency: value = fastest peer time / libclv time (higher is
better), where the peers are oneDNN at libclv's thread count and PyTorch at
its best thread count (1 or 2, whichever had the lower median; printed).
roof: libclv's training GFLOP/s / sgemm's GFLOP/s on the step's GEMM shapes
at the same thread count. Over several configurations the RATIO line is the
smallest (weakest) one; every configuration's ratio is printed above it.
"""
import statistics
import sys
from collections import defaultdict


def parse(path):
    runs = defaultdict(list)      # (side, mode, H, threads, B) -> [value]
    gflops = defaultdict(list)
    extra = defaultdict(list)
    cpu = defaultdict(list)       # process CPU ms per step/batch, where printed
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            side, mode, H, thr, B, value = p[0], p[1], int(p[2]), int(p[3]), int(p[4]), float(p[5])
            key = (side, mode, H, thr, B)
            runs[key].append(value)
            for kv in p[7:]:
                if kv.startswith("GFLOP/s="):
                    gflops[key].append(float(kv.split("=", 1)[1]))
                elif kv.startswith("cpu_ms="):
                    cpu[key].append(float(kv.split("=", 1)[1]))
                elif "=" in kv:
                    extra[key].append(kv)
    return runs, gflops, extra, cpu


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    if len(xs) < 2:
        return ""
    return " (min %.4g, max %.4g, n=%d)" % (min(xs), max(xs), len(xs))


def main():
    name, path = sys.argv[1], sys.argv[2]
    runs, gflops, extra, cpu = parse(path)
    mode = {"train": "train", "infer": "infer", "latency": "lat", "roof": "train"}[name]
    unit = {"train": "ms/step", "infer": "ms/batch", "lat": "us"}[mode]
    configs = sorted({(k[2], k[3], k[4]) for k in runs if k[0] == "libclv" and k[1] == mode})
    if not configs:
        print("no libclv results")
        print("RATIO %s nan" % name)
        return 1

    print("Medians (%s; lower is better; seq/s = B / time; cpu = process CPU time per step/batch, all threads)" % unit)
    for side in ("libclv", "onednn", "torch", "sgemm"):
        for (H, thr, B) in sorted({(k[2], k[3], k[4]) for k in runs if k[0] == side}):
            sm = "roof" if side == "sgemm" else mode
            xs = runs.get((side, sm, H, thr, B), [])
            if not xs:
                continue
            m = med(xs)
            line = "  %-7s H=%-4d threads=%d B=%-5d %10.2f %s%s" % (side, H, thr, B, m, unit if side != "sgemm" else "ms/step", spread(xs))
            if mode != "lat":
                line += "  %.0f seq/s" % (B / (m * 1e-3)) if side != "sgemm" else ""
            g = med(gflops.get((side, sm, H, thr, B), []))
            if g is not None:
                line += "  %.1f GFLOP/s" % g
            c = med(cpu.get((side, sm, H, thr, B), []))
            if c is not None:
                line += "  cpu %.2f ms" % c
            print(line)

    ratios = []
    print("Ratios")
    for (H, thr, B) in configs:
        lib = med(runs[("libclv", mode, H, thr, B)])
        if name == "roof":
            sg = med(gflops.get(("sgemm", "roof", H, thr, B), []))
            lg = med(gflops.get(("libclv", mode, H, thr, B), []))
            if sg is None or lg is None:
                print("  H=%d threads=%d: no sgemm result" % (H, thr))
                continue
            r = lg / sg
            print("  H=%d threads=%d: libclv %.1f GFLOP/s / sgemm %.1f GFLOP/s = %.2f" % (H, thr, lg, sg, r))
            ratios.append(r)
            continue
        peers = []
        d = med(runs.get(("onednn", mode, H, thr, B), []))
        if d is not None:
            peers.append(("oneDNN %d thread%s" % (thr, "s" if thr > 1 else ""), d))
        tor = [(t, med(runs[("torch", mode, H, t, B)])) for t in (1, 2) if runs.get(("torch", mode, H, t, B))]
        if tor:
            t_best, v_best = min(tor, key=lambda tv: tv[1])
            others = ", ".join("%d thread%s %.4g" % (t, "s" if t > 1 else "", v) for t, v in tor)
            peers.append(("PyTorch best=%d thread%s [%s]" % (t_best, "s" if t_best > 1 else "", others), v_best))
        if not peers:
            print("  H=%d threads=%d B=%d: no peer result" % (H, thr, B))
            continue
        fastest = min(peers, key=lambda p: p[1])
        r = fastest[1] / lib
        print("  H=%d threads=%d B=%d: libclv %.4g %s; fastest peer %s %.4g -> ratio %.2f" % (H, thr, B, lib, unit, fastest[0], fastest[1], r))
        for p in peers:
            if p is not fastest:
                print("      other peer: %s %.4g (libclv %.2fx)" % (p[0], p[1], p[1] / lib))
        ratios.append(r)
    if mode == "lat":
        allocs = sorted(set(x for k, v in extra.items() if k[0] == "libclv" for x in v if x.startswith("allocs_after_warmup")))
        print("libclv allocations on the call path after warm-up: %s" % (", ".join(allocs) or "not reported"))
    if len(ratios) > 1:
        print("RATIO is the smallest of %d configurations" % len(ratios))
    print("RATIO %s %s" % (name, "%.3f" % min(ratios) if ratios else "nan"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
