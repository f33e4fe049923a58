"""Compare the arrays that bench_pipeline --dump and pandas_pipeline.py --dump
wrote, customer by customer (rows matched by customer id), so that the two
sides of `bench/run pipeline` are known to compute the same thing.

    pipeline_check.py LIBCLV_DIR PANDAS_DIR

Integers (lengths, stages, transaction counts, days) must be equal; money and
features agree within float32 rounding (libclv sums a day's rows in float32,
pandas in float64). Prints one line per array; exit 1 on any disagreement.
"""
import os
import sys

import numpy as np


def meta(d):
    m = {"seq": [], "static": []}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, v = line.split(None, 1)
            v = v.strip()
            if k in ("seq", "static"):
                m[k].append(v)
            else:
                m[k] = int(v)
    return m


def ids(d):
    with open(os.path.join(d, "ids.txt")) as f:
        return np.array([int(x) for x in f.read().split()], dtype=np.int64)


def load(d, name, dtype, shape):
    a = np.fromfile(os.path.join(d, name), dtype=dtype)
    return a.reshape(shape)


def main():
    cdir, pdir = sys.argv[1], sys.argv[2]
    mc, mp = meta(cdir), meta(pdir)
    ok = True
    for k in ("N", "T", "F", "S"):
        if mc[k] != mp[k]:
            print("MISMATCH %s: libclv %d, pandas %d" % (k, mc[k], mp[k]))
            ok = False
    if mc["seq"] != mp["seq"]:
        print("MISMATCH sequence channels: libclv %s, pandas %s" % (mc["seq"], mp["seq"]))
        ok = False
    if not ok:
        sys.exit(1)
    n, T, F, S = mc["N"], mc["T"], mc["F"], mc["S"]
    ic, ip = ids(cdir), ids(pdir)
    if len(np.unique(ic)) != n or not np.array_equal(np.sort(ic), np.sort(ip)):
        print("MISMATCH customer ids differ")
        sys.exit(1)
    # Row of each libclv customer in pandas' arrays.
    order = np.argsort(ip)
    perm = order[np.searchsorted(ip[order], ic)]

    checks = [
        # name, dtype, shape, absolute tolerance, relative tolerance
        ("lengths.i32", np.int32, (n,), 0, 0),
        ("stages.i32", np.int32, (n,), 0, 0),
        ("target_tx.f32", np.float32, (n,), 0, 0),
        ("target_active.f32", np.float32, (n,), 0, 0),
        ("frequency.f32", np.float32, (n,), 0, 0),
        ("recency.f32", np.float32, (n,), 0, 0),
        ("age.f32", np.float32, (n,), 0, 0),
        ("target_spend.f32", np.float32, (n,), 0.02, 1e-5),
        ("cal_spend.f32", np.float32, (n,), 0.02, 1e-5),
        ("monetary_repeat.f32", np.float32, (n,), 0.02, 1e-5),
        ("static.f32", np.float32, (n, S), 2e-4, 1e-4),
        ("seq.f32", np.float32, (n, T, F), 2e-4, 1e-5),
    ]
    for name, dt, shape, atol, rtol in checks:
        a = load(cdir, name, dt, shape).astype(np.float64)
        b = load(pdir, name, dt, shape)[perm].astype(np.float64)
        diff = np.abs(a - b)
        bad = diff > atol + rtol * np.abs(b)
        worst = float(diff.max()) if diff.size else 0.0
        status = "ok" if not bad.any() else "MISMATCH"
        print("  %-20s %s  max |libclv - pandas| = %.3g  (%d of %d values outside tolerance)"
              % (name, status, worst, int(bad.sum()), bad.size))
        if bad.any():
            ok = False
            where = np.argwhere(bad)[0]
            print("    first at index %s (customer %d): libclv %r, pandas %r"
                  % (tuple(int(x) for x in where), ic[where[0]], a[tuple(where)], b[tuple(where)]))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
