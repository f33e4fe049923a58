"""Wall time of clv.dask.predict with 1 and 2 Dask workers (docs/python.md, "Dask").

    CLV_LIBRARY=build/lib/libclv.so.0 PYTHONPATH=bindings/python \
        /usr/bin/python3 bindings/python/bench/dask_speedup.py [CUSTOMERS] [PARTITIONS]

Simulates CUSTOMERS customers (default 10000) into a CSV file, trains a
forecaster with the default network size but 2 epochs and saves it, then for
1 and 2 worker processes (1 thread each) scores the whole file with
clv.dask.predict, twice: the first run includes each worker loading the
model, the second reuses it. It also compares the results with
single-process prediction (count of customers whose spend differs, and the
largest difference). Measure on an idle machine.
"""

import os
import sys
import tempfile
import time

import dask.dataframe as dd
from distributed import Client, LocalCluster

import clv
import clv.dask


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    partitions = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    clv.set_blas_threads(1)
    tmp = tempfile.mkdtemp(prefix="clv-dask-")
    data, model = os.path.join(tmp, "orders.csv"), os.path.join(tmp, "model.clv")
    clv.simulate(path=data, customers=customers, seed=1)
    with clv.TransactionLog.read_csv(data) as log:
        t = time.perf_counter()
        with clv.Forecaster(epochs=2, seed=1) as f:
            f.fit(log, "1997-09-30").save(model)
            t_fit = time.perf_counter() - t
            t = time.perf_counter()
            single = f.predict(log).to_pandas()
            t_single = time.perf_counter() - t
    print("%d customers, %d partitions; fit %.1f s; single process (1 thread) predict %.2f s"
          % (customers, partitions, t_fit, t_single), flush=True)
    single = single.sort_values("customer_id").reset_index(drop=True)
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            times = []
            for run in range(2):
                ddf = dd.read_csv(data, blocksize=os.path.getsize(data) // partitions + 1)
                t = time.perf_counter()
                got = clv.dask.predict(ddf, model).compute()
                times.append(time.perf_counter() - t)
            got = got.sort_values("customer_id").reset_index(drop=True)
            assert list(got.customer_id) == list(single.customer_id)
            diff = (got.predicted_spend - single.predicted_spend).abs()
            print("%d worker(s): first run %.2f s (loads the model), second %.2f s; "
                  "spend differs from single process for %d customers, by at most %.3g"
                  % (workers, times[0], times[1], int((diff > 0).sum()), diff.max()), flush=True)


if __name__ == "__main__":
    main()
