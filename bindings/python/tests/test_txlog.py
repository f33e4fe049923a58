"""Transaction logs from pandas DataFrames and numpy columns equal logs read from CSV."""

import numpy as np
import pandas as pd
import pytest

import clv
from conftest import FIT, CUTOFF, HOLDOUT_END


def _dataset(log):
    with clv.Pipeline() as p:
        return p.fit_transform(log, CUTOFF, HOLDOUT_END)


def _same_log(a, b):
    """Same report, same features and targets, same fitted forecaster bytes."""
    assert a.report == b.report
    da, db = _dataset(a), _dataset(b)
    assert da.customer_ids == db.customer_ids
    for name in ("sequences", "lengths", "static", "target_spend", "frequency", "monetary_repeat"):
        np.testing.assert_array_equal(getattr(da, name), getattr(db, name), err_msg=name)
    with clv.Forecaster(**FIT) as fa, clv.Forecaster(**FIT) as fb:
        assert fa.fit(a, CUTOFF).to_bytes() == fb.fit(b, CUTOFF).to_bytes()


def test_dataframe_equals_csv(log, sim_df):
    assert sim_df.customer_id.dtype.kind == "i"           # the uint64 path
    with clv.TransactionLog.from_dataframe(sim_df) as from_df:
        _same_log(log, from_df)


def test_string_ids_and_datetime_dates_equal_csv(log, sim_df):
    df = sim_df.assign(customer_id=sim_df.customer_id.astype(str),
                       date=pd.to_datetime(sim_df.date))
    assert df.date.dtype.kind == "M"
    with clv.TransactionLog.from_dataframe(df) as from_df:
        _same_log(log, from_df)


def test_from_arrays_with_event_codes(log, sim_df):
    codes = sim_df.event.map(clv.txlog.EVENTS).to_numpy()
    with clv.TransactionLog.from_arrays(sim_df.customer_id.to_numpy(), sim_df.date.to_numpy(),
                                        sim_df.amount.to_numpy(), sim_df.quantity.to_numpy(),
                                        codes) as from_arrays:
        assert from_arrays.report == log.report


def test_named_columns():
    df = pd.DataFrame({"who": ["a", "b", "a"], "when": ["1997-01-01", "1997-01-02", "1997-01-03"],
                       "paid": [1.5, 2.0, 3.25]})
    with pytest.raises(ValueError, match="no customer column"):
        clv.TransactionLog.from_dataframe(df)
    log = clv.TransactionLog.from_dataframe(df, customer="who", date="when", amount="paid")
    r = log.report
    assert (r.customers, r.customer_days, r.first_day, r.last_day) == (2, 3, 9862, 9864)


def test_csv_column_mapping_by_index(tmp_path):
    path = tmp_path / "o.txt"
    path.write_text("00001 19970101 1 11.77\n00002 19970112 1 12.00\n00001 19970102 2 5.00\n")
    log = clv.TransactionLog.read_csv(str(path), customer=1, date=2, amount=4, header=False)
    assert (log.customers, log.report.rows_used) == (2, 3)


def test_bad_rows_in_a_dataframe_raise_with_the_row():
    with pytest.raises(clv.FormatError) as e:
        clv.TransactionLog.from_arrays([1, 2], [9862, 9863], [1.0, float("nan")])
    assert str(e.value) == "clv_txlog_append_u64: row 1: amount is not finite"
    with pytest.raises(ValueError, match="unknown event"):
        clv.TransactionLog.from_arrays([1], [9862], [1.0], events=["buy"])


def test_zoned_timestamps_go_to_utc_as_in_files():
    text = "customer_id,date,amount\n1,1997-01-01T23:30:00-05:00,1\n1,1997-01-02T00:30:00+00:00,2\n"
    from_text = clv.TransactionLog()
    from_text.read_text(text)
    stamps = pd.to_datetime(["1997-01-01T23:30:00-05:00", "1997-01-02T00:30:00+00:00"], utc=True)
    df = pd.DataFrame({"customer_id": [1, 1], "date": stamps.tz_convert("US/Eastern"),
                       "amount": [1.0, 2.0]})
    from_df = clv.TransactionLog.from_dataframe(df)
    assert from_df.report == from_text.report
    assert (from_df.report.customer_days, from_df.report.first_day) == (1, clv.to_day("1997-01-02"))
