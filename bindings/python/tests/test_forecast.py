"""The forecaster trained from Python matches the clv tool on the same data, seed and options."""

import csv
import os

import numpy as np
import pytest

import clv
from conftest import FIT, TRAIN_ARGS, CUTOFF, run_tool


def _tool_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _python_rows(pred):
    """The prediction formatted as `clv predict` formats it (%.2f spend, %.4f rates)."""
    d = pred.to_dict()
    rows = [["customer_id", "predicted_spend", "predicted_transactions", "p_active",
             "lifecycle_stage", "spend_p10", "spend_p90"]]
    for i, cid in enumerate(d["customer_id"]):
        rows.append([cid, "%.2f" % d["predicted_spend"][i], "%.4f" % d["predicted_transactions"][i],
                     "%.4f" % d["p_active"][i], d["lifecycle_stage"][i],
                     "%.2f" % d["spend_p10"][i], "%.2f" % d["spend_p90"][i]])
    return rows


def test_python_training_matches_the_clv_tool(tool, sim_csv, log, tmp_path):
    tool_model, tool_pred = str(tmp_path / "tool.clv"), str(tmp_path / "tool.csv")
    run_tool(tool, "train", "--data", sim_csv, "--cutoff", CUTOFF, "--out", tool_model, *TRAIN_ARGS)
    run_tool(tool, "predict", "--model", tool_model, "--data", sim_csv, "--out", tool_pred)

    py_model = str(tmp_path / "py.clv")
    with clv.Forecaster(**FIT) as f:
        f.fit(log, CUTOFF)
        f.save(py_model)
        with f.predict(log) as pred:
            rows = _python_rows(pred)
    # Same data, seed and options: the same model file, byte for byte...
    with open(py_model, "rb") as a, open(tool_model, "rb") as b:
        assert a.read() == b.read()
    # ...and the same predictions, digit for digit as the tool prints them.
    expected = _tool_rows(tool_pred)
    assert len(rows) == len(expected) == 301
    assert rows == expected


def test_loading_the_tools_model_predicts_the_same(tool, sim_csv, log, tmp_path):
    model = str(tmp_path / "tool.clv")
    run_tool(tool, "train", "--data", sim_csv, "--cutoff", CUTOFF, "--out", model, *TRAIN_ARGS)
    assert clv.model_file_version(model) == (1, 0)
    with clv.Forecaster.load(model) as loaded, clv.Forecaster(**FIT) as fitted:
        fitted.fit(log, CUTOFF)
        assert loaded.options == fitted.options
        assert loaded.fit_cutoff == clv.to_date(clv.to_day(CUTOFF))
        a, b = loaded.predict(log, at=CUTOFF), fitted.predict(log, at=CUTOFF)
        for name in ("spend", "transactions", "p_active", "spend_p10", "spend_p90", "stages"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_prediction_frame_and_bytes_round_trip(log):
    f = clv.Forecaster(**FIT).fit(log, CUTOFF)
    g = clv.Forecaster.from_bytes(f.to_bytes())
    df = f.predict(log, at=CUTOFF, horizon_days=28).to_pandas()
    assert list(df.columns) == ["customer_id", "predicted_spend", "predicted_transactions",
                                "p_active", "lifecycle_stage", "spend_p10", "spend_p90"]
    assert len(df) == 300 and df.customer_id.iloc[0] == "1"
    assert ((df.p_active >= 0) & (df.p_active <= 1)).all()
    assert (df.spend_p10 <= df.spend_p90).all()
    assert set(df.lifecycle_stage) <= {"new", "active", "at-risk", "churned"}
    p = g.predict(log, at=CUTOFF, horizon_days=28)
    assert p.horizon_days == 28
    np.testing.assert_array_equal(p.spend, df.predicted_spend.to_numpy())
    # Threads do not change predictions (forecast.h promise).
    g.threads = 2
    np.testing.assert_array_equal(g.predict(log, at=CUTOFF, horizon_days=28).spend, p.spend)


def test_progress_callback_and_cancel(log):
    seen = []
    clv.Forecaster(**FIT).fit(log, CUTOFF, progress=lambda p: seen.append(p["epoch"]))
    assert seen == [1, 2]
    with pytest.raises(clv.Canceled):
        clv.Forecaster(**FIT).fit(log, CUTOFF, progress=lambda p: True)

    class Stop(Exception):
        pass

    def boom(p):
        raise Stop("from the callback")
    with pytest.raises(Stop):                    # re-raised in place of CLV_ECANCELED
        clv.Forecaster(**FIT).fit(log, CUTOFF, progress=boom)


def test_explain_adds_up(log):
    with clv.Forecaster(**FIT) as f:
        f.fit(log, CUTOFF)
        with f.explain(log, "1", at=CUTOFF) as e:
            assert e.attributions.shape[1] == 12 and len(e.input_names) == 12
            assert "transactions" in e.input_names
            total = float(np.asarray(e.attributions, np.float64).sum())
            assert total == pytest.approx(e.value - e.baseline, rel=0.05, abs=0.05)
        with pytest.raises(clv.InvalidArgument) as err:
            f.explain(log, "no-such-customer", at=CUTOFF)
        assert "no-such-customer" in str(err.value)
