"""pandas' side of `bench/run pipeline`: the work of libclv's feature pipeline
(clv_txlog_read_csv + clv_pipeline_fit + clv_pipeline_transform, defaults:
weekly periods, T = 52, post padding, log1p sequences, LOG1P static
normalisation) written as idiomatic, vectorised pandas/numpy. One run per
process; run with Debian's /usr/bin/python3.

    pandas_pipeline.py [--cutoff YYYY-MM-DD] [--holdout-end YYYY-MM-DD] [--dump DIR] FILE

Timed (time.perf_counter, after the imports), in this process:
  1. read_csv, C engine, dtypes given (ids as int64, amounts and quantities
     float64, event as category); CDNOW (whitespace separated) with
     sep=r'\\s+'.
  2. dates: pd.to_datetime with an explicit format, then days since 1970.
  3. same-day merge: groupby(customer, day).sum() of net spend, items,
     purchase rows (amount >= 0), views, clicks, carts.
  4. per customer at the cutoff: first/last purchase day, transactions,
     spend, items, first-day amount, inter-purchase gaps (mean, sample std),
     views/clicks/carts/active days, holdout spend and transactions.
  5. the 12 (14 with events) static features, log1p then z-score over the
     calibration customers; lifecycle stages; targets.
  6. the weekly sequence pivot: weeks counted back from the cutoff, the last
     min(weeks since first purchase + 1, 52) of them, groupby(customer,
     step).sum() over the days, log1p on every channel but transactions (only
     the filled cells), scattered into a zeroed [N][52][F] float32 tensor
     (F = 3, or 7 with events).
  Output arrays are float32/int32 like libclv's.
Printed: one "RESULT side=pandas ..." line with the same keys as
bench_pipeline's. --dump DIR writes the arrays for pipeline_check.py.
"""
import argparse
import os
import resource
import sys
import time

T_IMPORT0 = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

T_IMPORTED = time.perf_counter()

T_STEPS = 52
EPOCH = np.datetime64("1970-01-01", "D")


def peak_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def day_of(text):
    return int((np.datetime64(text, "D") - EPOCH).astype(np.int64))


def is_whitespace_separated(path):
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return "," not in first and "\t" not in first and ";" not in first


def read_log(path):
    """Rows -> DataFrame(customer_id int64, day int64, spend, items, purchases,
    views, clicks, carts)."""
    if is_whitespace_separated(path):
        # CDNOW: customer_id date number_of_cds dollar_value, dates YYYYMMDD.
        df = pd.read_csv(path, sep=r"\s+", engine="c",
                         dtype={"customer_id": np.int64, "date": str,
                                "number_of_cds": np.float64, "dollar_value": np.float64})
        df = df.rename(columns={"number_of_cds": "quantity", "dollar_value": "amount"})
        dates = pd.to_datetime(df["date"], format="%Y%m%d")
        event = None
    else:
        df = pd.read_csv(path, engine="c",
                         dtype={"customer_id": np.int64, "date": str, "amount": np.float64,
                                "quantity": np.float64, "event": "category"})
        dates = pd.to_datetime(df["date"], format="%Y-%m-%d")
        event = df["event"] if "event" in df.columns else None
    day = (dates.values.astype("datetime64[D]") - EPOCH).astype(np.int64)
    amount = df["amount"].to_numpy()
    quantity = df["quantity"].to_numpy()
    if event is None:
        purchase = np.ones(len(df), dtype=bool)
        zeros = np.zeros(len(df), dtype=np.int32)
        views = clicks = carts = zeros
    else:
        ev = event.str.lower() if event.dtype != "category" else event
        purchase = (ev == "purchase").to_numpy()
        views = (ev == "view").to_numpy().astype(np.int32)
        clicks = (ev == "click").to_numpy().astype(np.int32)
        carts = (ev == "cart").to_numpy().astype(np.int32)
    positive = purchase & (amount >= 0)
    rows = pd.DataFrame({
        "customer_id": df["customer_id"].to_numpy(),
        "day": day,
        "spend": np.where(purchase, amount, 0.0),
        "items": np.where(positive, quantity, 0.0),
        "purchases": positive.astype(np.int32),
        "views": views, "clicks": clicks, "carts": carts,
    })
    return rows


def log1p_signed(v):
    return np.sign(v) * np.log1p(np.abs(v))


def pipeline(path, cutoff, holdout_end):
    rows = read_log(path)
    nrows = len(rows)

    # Same-day merge: one record per (customer, day), sorted by both.
    daily = rows.groupby(["customer_id", "day"], sort=True).sum().reset_index()
    del rows
    customers = int(daily["customer_id"].nunique())
    customer_days = len(daily)

    cal = daily[daily["day"] <= cutoff]
    hold = daily[(daily["day"] > cutoff) & (daily["day"] <= holdout_end)]
    calp = cal[cal["purchases"] > 0]

    # Per customer with a purchase on or before the cutoff.
    s = calp.groupby("customer_id", sort=True).agg(
        first_day=("day", "first"), last_day=("day", "last"), tx=("day", "size"),
        items=("items", "sum"), first_amount=("spend", "first"))
    idx = s.index
    by_cal = cal.groupby("customer_id", sort=True)
    cal_sums = by_cal[["spend", "views", "clicks", "carts"]].sum().reindex(idx)
    s["spend"] = cal_sums["spend"]
    s["views"] = cal_sums["views"]
    s["clicks"] = cal_sums["clicks"]
    s["carts"] = cal_sums["carts"]
    s["sessions"] = by_cal.size().reindex(idx)
    has_events = bool((cal["views"].sum() + cal["clicks"].sum() + cal["carts"].sum()) > 0)

    # Inter-purchase gaps (days between consecutive purchase days).
    same = calp["customer_id"].to_numpy()[1:] == calp["customer_id"].to_numpy()[:-1]
    gaps = pd.DataFrame({"customer_id": calp["customer_id"].to_numpy()[1:][same],
                         "gap": np.diff(calp["day"].to_numpy())[same].astype(np.float64)})
    g = gaps.groupby("customer_id", sort=True)["gap"].agg(["mean", "std"]).reindex(idx)
    ipt_mean = g["mean"].fillna(0.0).to_numpy()
    ipt_std = g["std"].fillna(0.0).to_numpy()

    h = hold.assign(htx=(hold["purchases"] > 0).astype(np.int64)).groupby(
        "customer_id", sort=True)[["spend", "htx"]].sum().reindex(idx, fill_value=0)

    # Static features, in libclv's order.
    tx = s["tx"].to_numpy().astype(np.float64)
    first = s["first_day"].to_numpy()
    last = s["last_day"].to_numpy()
    spend = s["spend"].to_numpy()
    first_amount = s["first_amount"].to_numpy()
    x = tx - 1.0
    age = (cutoff - first).astype(np.float64)
    recency = (last - first).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        feats = [x, recency, age, age - recency, spend, spend / tx,
                 np.where(x > 0, (spend - first_amount) / np.where(x > 0, x, 1.0), 0.0),
                 x * 30.0 / np.maximum(age, 1.0), ipt_mean, ipt_std, first_amount,
                 s["items"].to_numpy() / tx]
        if has_events:
            views = s["views"].to_numpy().astype(np.float64)
            sessions = s["sessions"].to_numpy().astype(np.float64)
            feats.append(np.where(views > 0, s["clicks"].to_numpy() / np.where(views > 0, views, 1.0), 0.0))
            feats.append(np.where(sessions > 0, tx / np.where(sessions > 0, sessions, 1.0), 0.0))
    raw = np.column_stack(feats)
    gl = log1p_signed(raw)
    mean = gl.mean(axis=0)
    sd = gl.std(axis=0)
    scale = np.where(sd > 1e-12 * (np.abs(mean) + 1.0), 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
    static = ((gl - mean) * scale).astype(np.float32)

    since = (cutoff - last).astype(np.int64)
    stages = np.select([(cutoff - first) < 30, since < 90, since < 180], [1, 2, 3], 4).astype(np.int32)

    # Weekly sequences: step t = L - 1 - (weeks back from the cutoff).
    birth = (cutoff - first) // 7
    lengths = np.minimum(birth + 1, T_STEPS).astype(np.int32)
    L = pd.Series(lengths, index=idx)
    c = cal[cal["customer_id"].isin(idx)]
    Lr = L.reindex(c["customer_id"]).to_numpy()
    weeks_back = (cutoff - c["day"].to_numpy()) // 7
    keep = weeks_back < Lr
    channels = ["spend", "transactions", "items"] + (["views", "clicks", "carts", "sessions"] if has_events else [])
    w = pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy()[keep],
        "t": (Lr - 1 - weeks_back)[keep],
        "spend": c["spend"].to_numpy()[keep],
        "transactions": (c["purchases"].to_numpy()[keep] > 0).astype(np.float64),
        "items": c["items"].to_numpy()[keep],
    })
    if has_events:
        w["views"] = c["views"].to_numpy()[keep]
        w["clicks"] = c["clicks"].to_numpy()[keep]
        w["carts"] = c["carts"].to_numpy()[keep]
        w["sessions"] = 1.0
    # The pivot: sum each (customer, step) cell, squash the filled cells,
    # scatter them into the zeroed [N][T][F] tensor (pandas has no 3-D frame;
    # unstack() to a wide frame and a transpose measured 2-3x slower).
    cells = w.groupby(["customer_id", "t"], sort=True)[channels].sum()
    vals = cells.to_numpy(dtype=np.float64)
    squash = [k for k, name in enumerate(channels) if name != "transactions"]
    vals[:, squash] = log1p_signed(vals[:, squash])
    seq = np.zeros((len(idx), T_STEPS, len(channels)), dtype=np.float32)
    seq[idx.get_indexer(cells.index.get_level_values(0)),
        cells.index.get_level_values(1).to_numpy()] = vals

    out = {
        "ids": idx.to_numpy(),
        "seq": seq, "lengths": lengths, "static": static,
        "target_spend": h["spend"].to_numpy().astype(np.float32),
        "target_tx": h["htx"].to_numpy().astype(np.float32),
        "target_active": (h["htx"].to_numpy() > 0).astype(np.float32),
        "stages": stages,
        "frequency": x.astype(np.float32), "recency": recency.astype(np.float32),
        "age": age.astype(np.float32),
        "monetary_repeat": feats[6].astype(np.float32),
        "cal_spend": spend.astype(np.float32),
        "channels": channels,
    }
    counts = {"rows": nrows, "customers": customers, "customer_days": customer_days}
    return out, counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cutoff", default="1997-09-30")
    ap.add_argument("--holdout-end", default="1998-06-30")
    ap.add_argument("--dump")
    ap.add_argument("file")
    a = ap.parse_args()
    base = peak_kb()
    cutoff, end = day_of(a.cutoff), day_of(a.holdout_end)

    t0 = time.perf_counter()
    out, counts = pipeline(a.file, cutoff, end)
    t1 = time.perf_counter()
    peak = peak_kb()

    n = len(out["ids"])
    T, F = out["seq"].shape[1], out["seq"].shape[2]
    S = out["static"].shape[1]
    cal_tx = int(out["frequency"].astype(np.int64).sum()) + n
    hold_tx = int(out["target_tx"].astype(np.int64).sum())
    steps = int(out["lengths"].astype(np.int64).sum())
    cal_spend = float(out["cal_spend"].astype(np.float64).sum())
    hold_spend = float(out["target_spend"].astype(np.float64).sum())
    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
        with open(os.path.join(a.dump, "meta.txt"), "w") as f:
            f.write("N %d\nT %d\nF %d\nS %d\n" % (n, T, F, S))
            for name in out["channels"]:
                f.write("seq %s\n" % name)
        with open(os.path.join(a.dump, "ids.txt"), "w") as f:
            f.write("".join("%d\n" % i for i in out["ids"]))
        for key, suffix in [("seq", "f32"), ("lengths", "i32"), ("static", "f32"),
                            ("target_spend", "f32"), ("target_tx", "f32"), ("target_active", "f32"),
                            ("stages", "i32"), ("frequency", "f32"), ("recency", "f32"),
                            ("age", "f32"), ("monetary_repeat", "f32"), ("cal_spend", "f32")]:
            out[key].tofile(os.path.join(a.dump, "%s.%s" % (key, suffix)))

    print("RESULT side=pandas seconds=%.6f import_s=%.6f rows=%d peak_kb=%d base_kb=%d customers=%d "
          "customer_days=%d N=%d T=%d F=%d S=%d cal_tx=%d hold_tx=%d steps=%d cal_spend=%.2f "
          "hold_spend=%.2f" % (t1 - t0, T_IMPORTED - T_IMPORT0, counts["rows"], peak, base,
                               counts["customers"], counts["customer_days"], n, T, F, S, cal_tx,
                               hold_tx, steps, cal_spend, hold_spend))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
