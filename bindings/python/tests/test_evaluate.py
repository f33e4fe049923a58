"""evaluate(): the backtest table, and metrics recomputed from its predictions."""

import numpy as np
import pytest

import clv
from conftest import FIT, CUTOFF, HOLDOUT_END


def test_backtest_table(log):
    opts = {k: v for k, v in FIT.items() if k != "horizon_days"}
    with clv.evaluate(log, CUTOFF, HOLDOUT_END, **opts) as bt:
        names = bt.models
        assert names[:4] == ["lstm", "bgnbd_gg", "paretonbd_gg", "naive"]
        if "xgboost" in names:
            assert clv.model_available("xgboost")
        table = bt.to_pandas()
        assert list(table.index) == names
        assert len(bt) == 300
        # Every spend metric of a row is what clv.metrics() gives on its predictions.
        for name in names:
            row = bt.scores(name)
            again = clv.metrics(bt.pred_spend(name), bt.actual_spend)
            for k, v in again.items():
                assert row[k] == pytest.approx(v, nan_ok=True), (name, k)
        assert bt.actual["spend"] == pytest.approx(float(np.sum(bt.actual_spend, dtype=np.float64)), rel=1e-6)
        assert 0 <= table.loc["lstm", "interval_coverage"] <= 1
        assert np.isnan(table.loc["bgnbd_gg", "interval_coverage"])
        with pytest.raises(KeyError):
            bt.scores("no-such-model")


def test_metrics_by_hand():
    pred = np.array([1, 2, 3, 4], np.float32)
    actual = np.array([1, 2, 3, 6], np.float32)
    m = clv.metrics(pred, actual)
    assert m["mae"] == pytest.approx(0.5) and m["rmse"] == pytest.approx(1.0)
    assert m["total_pct_error"] == pytest.approx(-100 * 2 / 12)
    assert np.isnan(m["decile_mape"])            # undefined for n < 10
    assert clv.auc([0.1, 0.9, 0.4], [0, 1, 1]) == 1.0
    with pytest.raises(clv.InvalidArgument):
        clv.auc([0.1, 0.2], [1, 1])              # one class only
    mp, ma, cnt = clv.decile_table(np.arange(23, dtype=np.float32), np.arange(23, dtype=np.float32))
    assert list(cnt) == [2, 2, 2, 3, 2, 2, 3, 2, 2, 3]
