"""Shared fixtures: a small simulated log (as a CSV file and as a DataFrame)
and the clv tool of the build (CLV_TOOL), so every test runs in seconds."""

import os
import subprocess

import pytest

import clv

# The forecaster configuration shared by the Python and `clv train` runs:
# small enough to train in well under a second.
FIT = dict(hidden_size=8, epochs=2, ensemble=1, samples=8, seed=5, horizon_days=90)
TRAIN_ARGS = ["--hidden", "8", "--epochs", "2", "--ensemble", "1", "--samples", "8",
              "--seed", "5", "--horizon", "90"]
CUTOFF = "1997-09-30"
HOLDOUT_END = "1998-06-30"


@pytest.fixture(scope="session")
def sim_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "sim.csv"
    clv.simulate(path=str(path), customers=300, seed=3)
    return str(path)


@pytest.fixture(scope="session")
def sim_df(sim_csv):
    pd = pytest.importorskip("pandas")
    return pd.read_csv(sim_csv)


@pytest.fixture
def log(sim_csv):
    with clv.TransactionLog.read_csv(sim_csv) as log:
        yield log


@pytest.fixture(scope="session")
def tool():
    path = os.environ.get("CLV_TOOL")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("the clv tool is not built (CLV_TOOL unset): configure with -Dexamples=true")
    return path


def run_tool(tool, *args):
    """Run the clv tool; fail the test with its stderr when it fails."""
    r = subprocess.run([tool, *args, "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, "clv %s failed: %s" % (args[0], r.stderr)
    return r
