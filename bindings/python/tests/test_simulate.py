"""simulate(): the same rows as `clv simulate`, in a file or straight into a log."""

import numpy as np

import clv
from conftest import run_tool


def test_same_file_as_the_tool(tool, tmp_path):
    ours, theirs = str(tmp_path / "py.csv"), str(tmp_path / "tool.csv")
    clv.simulate(path=ours, customers=200, seed=9)
    run_tool(tool, "simulate", "--customers", "200", "--seed", "9", "--out", theirs)
    with open(ours, "rb") as a, open(theirs, "rb") as b:
        assert a.read() == b.read()


def test_log_equals_the_file(sim_csv, log):
    direct = clv.simulate(customers=300, seed=3)
    assert direct.report.customer_days == log.report.customer_days
    assert direct.report.customers == log.customers == 300


def test_truth():
    t = clv.simulate_truth("1997-09-30", "1998-06-30", customers=500, seed=3)
    assert set(np.unique(t["alive_at_cutoff"])) <= {0.0, 1.0}
    assert (t["expected_spend"][t["alive_at_cutoff"] == 0] == 0).all()
    assert (t["expected_transactions"] >= 0).all() and t["expected_spend"].shape == (500,)
