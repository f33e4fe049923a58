"""Formatting and summary for `bench/run pipeline` (no timing happens here).

    pipeline_report.py run DATASET REP REPS PROCESS_SECONDS RESULT_LINE
        one line per run; exit 1 if RESULT_LINE is malformed
    pipeline_report.py summary RESULTS_FILE
        RESULTS_FILE holds "DATASET PROCESS_SECONDS RESULT ..." lines. Checks
        that every run of a data set (both sides, every repetition) reports
        the same counts, exits 1 loudly if not; prints the counts, the medians
        per side and data set, the ratios, and as the last line
        "RATIO pipeline <pandas median / libclv median>" for the synthetic log.
"""
import statistics
import sys

# Counts that both sides must report identically for one input.
EXACT = ["rows", "customers", "customer_days", "N", "T", "F", "S", "cal_tx", "hold_tx", "steps"]
# Money totals: equal up to float32 day sums (libclv) vs float64 (pandas).
CLOSE = ["cal_spend", "hold_spend"]
SIM = "synthetic"


def parse(line):
    fields = line.split()
    if not fields or fields[0] != "RESULT":
        raise ValueError("not a RESULT line: %r" % line)
    kv = dict(f.split("=", 1) for f in fields[1:])
    out = {"side": kv["side"]}
    for k, v in kv.items():
        if k == "side":
            continue
        out[k] = float(v) if ("." in v or "e" in v) else int(v)
    return out


def mb(kb):
    return kb / 1024.0


def fmt_rate(rows, seconds):
    r = rows / seconds if seconds > 0 else float("inf")
    if r >= 1e6:
        return "%.2fM rows/s" % (r / 1e6)
    return "%.0fk rows/s" % (r / 1e3)


def run_line(dataset, rep, reps, proc_s, line):
    r = parse(line)
    extra = ""
    if r["side"] == "libclv":
        extra = "  [read %.3f  fit %.3f  transform %.3f s; RSS after read %.0f MB, after fit %.0f MB]" % (
            r["read_s"], r["fit_s"], r["transform_s"], mb(r["read_peak_kb"]), mb(r["fit_peak_kb"]))
    else:
        extra = "  [import %.3f s, not timed]" % r["import_s"]
    print("  %-9s rep %s/%s  %-6s  %8.3f s  %16s  peak %7.1f MB (base %5.1f MB)  process %7.3f s%s" % (
        dataset, rep, reps, r["side"], r["seconds"], fmt_rate(r["rows"], r["seconds"]),
        mb(r["peak_kb"]), mb(r["base_kb"]), float(proc_s), extra))


def summary(path):
    runs = {}
    order = []
    with open(path) as f:
        for line in f:
            parts = line.split(None, 2)
            if len(parts) < 3:
                continue
            ds, proc_s, rest = parts
            r = parse(rest)
            r["process_s"] = float(proc_s)
            if ds not in runs:
                runs[ds] = []
                order.append(ds)
            runs[ds].append(r)

    failed = False
    for ds in order:
        ref = runs[ds][0]
        for r in runs[ds][1:]:
            for k in EXACT:
                if r[k] != ref[k]:
                    print("MISMATCH %s: %s is %s on %s, %s on %s" % (ds, k, r[k], r["side"], ref[k], ref["side"]))
                    failed = True
            for k in CLOSE:
                if abs(r[k] - ref[k]) > 1e-6 * max(abs(ref[k]), 1.0) + 0.05:
                    print("MISMATCH %s: %s is %.2f on %s, %.2f on %s" % (ds, k, r[k], r["side"], ref[k], ref["side"]))
                    failed = True
    if failed:
        print("error: libclv and pandas disagree on the counts above; timings are not comparable")
        sys.exit(1)

    print()
    print("Counts (identical on both sides, every run):")
    for ds in order:
        r = runs[ds][0]
        print("  %-9s rows %d, customers %d, merged customer-days %d, calibration customers %d, "
              "merged transactions %d (calibration %d + holdout %d), sequence steps %d, T=%d F=%d S=%d, "
              "calibration spend %.2f, holdout spend %.2f"
              % (ds, r["rows"], r["customers"], r["customer_days"], r["N"], r["cal_tx"] + r["hold_tx"],
                 r["cal_tx"], r["hold_tx"], r["steps"], r["T"], r["F"], r["S"], r["cal_spend"], r["hold_spend"]))

    print()
    print("Medians (time: in-process wall clock of the pipeline; peak: ru_maxrss of the whole process):")
    ratio = {}
    for ds in order:
        med = {}
        for side in ("libclv", "pandas"):
            rs = [r for r in runs[ds] if r["side"] == side]
            t = statistics.median(r["seconds"] for r in rs)
            p = statistics.median(r["peak_kb"] for r in rs)
            pt = statistics.median(r["process_s"] for r in rs)
            med[side] = (t, p)
            extra = ""
            if side == "libclv":
                extra = "  (read %.3f, fit %.3f, transform %.3f s)" % (
                    statistics.median(r["read_s"] for r in rs), statistics.median(r["fit_s"] for r in rs),
                    statistics.median(r["transform_s"] for r in rs))
            print("  %-9s %-6s n=%d  %8.3f s  %16s  peak %7.1f MB  process %7.3f s%s" % (
                ds, side, len(rs), t, fmt_rate(rs[0]["rows"], t), mb(p), pt, extra))
        tr = med["pandas"][0] / med["libclv"][0]
        pr = med["libclv"][1] / med["pandas"][1]
        ratio[ds] = tr
        print("  %-9s time pandas/libclv = %.2fx   peak memory libclv/pandas = %.2f" % (ds, tr, pr))
    print()
    if SIM in ratio:
        print("RATIO pipeline %.2f" % ratio[SIM])
    else:
        print("error: no %s runs" % SIM)
        sys.exit(1)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "run" and len(sys.argv) == 7:
        run_line(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
