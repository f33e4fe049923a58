"""clv.dask.predict on a LocalCluster of 2 worker processes equals single-process prediction."""

import pytest

pytest.importorskip("distributed")
import dask.dataframe as dd                        # noqa: E402
from distributed import Client, LocalCluster      # noqa: E402

import clv                                        # noqa: E402
import clv.dask                                   # noqa: E402
from conftest import FIT, CUTOFF                  # noqa: E402

# distributed 2022.12 under Debian's tornado 6.2: harmless, and not ours.
pytestmark = pytest.mark.filterwarnings("ignore:make_current is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def model(sim_csv, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "m.clv")
    with clv.TransactionLog.read_csv(sim_csv) as log, clv.Forecaster(**FIT) as f:
        f.fit(log, CUTOFF).save(path)
    return path


def _single_process(sim_df, model, **kw):
    with clv.Forecaster.load(model) as f, clv.TransactionLog.from_dataframe(sim_df) as log:
        return f.predict(log, **kw).to_pandas()


def _sorted(df):
    return df.sort_values("customer_id").reset_index(drop=True)


def test_two_workers_match_one_process_exactly(client, sim_df, model):
    # Rows of a customer are spread over the input partitions on purpose:
    # predict must bring each customer's rows together.
    shuffled = sim_df.sample(frac=1.0, random_state=1)
    ddf = dd.from_pandas(shuffled, npartitions=6, sort=False)
    before = client.run(clv.dask.worker_stats)
    got = clv.dask.predict(ddf, model).compute()
    after = client.run(clv.dask.worker_stats)
    expected = _single_process(sim_df, model)
    assert len(got) == len(expected) == 300
    assert got.customer_id.is_unique
    assert _sorted(got).equals(_sorted(expected))     # bit-identical floats, same stages
    assert len(after) == 2
    scored = {w: after[w]["partitions"] - before[w]["partitions"] for w in after}
    assert sum(scored.values()) == 6                 # each partition scored once
    # Every worker that scored partitions loaded the model once, whatever it scored.
    assert all(after[w]["loads"] == 1 for w in after if after[w]["partitions"])


def test_pandas_input_date_and_horizon(client, sim_df, model):
    got = clv.dask.predict(sim_df, model, at=CUTOFF, horizon_days=28, npartitions=3).compute()
    expected = _single_process(sim_df, model, at=CUTOFF, horizon_days=28)
    assert _sorted(got).equals(_sorted(expected))


def test_missing_columns_are_reported(client, sim_df, model):
    with pytest.raises(ValueError, match="no customer column"):
        clv.dask.predict(sim_df.rename(columns={"customer_id": "who"}), model)


def test_doc_example(tmp_path):
    """The Dask example of docs/python.md, after the quick start that writes its inputs."""
    import docblocks
    found = docblocks.blocks()
    for code, expected in found:
        if "distributed" not in code and "orders.csv" in code and "simulate(" in code:
            docblocks.run(code, tmp_path)
            break
    dask_blocks = [(c, o) for c, o in found if "distributed" in c]
    assert dask_blocks
    for code, expected in dask_blocks:
        docblocks.same_output(docblocks.run(code, tmp_path), expected)
