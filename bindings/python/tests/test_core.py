"""Library loading, exceptions carrying the C message, handle lifetimes, zero copy."""

import gc

import numpy as np
import pytest

import clv
from clv import _util


def test_loads_the_library_it_was_pointed_at():
    import os
    assert clv.library_path == os.environ["CLV_LIBRARY"]
    assert clv.library_version().count(".") == 2
    assert clv._c.clv_abi_version() == clv.ABI_VERSION


def test_invalid_argument_carries_the_c_message():
    with pytest.raises(clv.InvalidArgument) as e:
        clv.Model(input_size=0)
    assert str(e.value) == "clv_model_new: input_size = 0, expected 1..65536"
    assert e.value.status == -1
    assert e.value.status_name.startswith("CLV_EINVAL")
    assert isinstance(e.value, ValueError) and isinstance(e.value, clv.ClvError)


def test_io_error_names_the_file(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(clv.IOFailure) as e:
        clv.TransactionLog.read_csv(missing)
    assert missing in str(e.value)
    assert isinstance(e.value, OSError) and e.value.status == -3


def test_format_error_names_line_and_column():
    log = clv.TransactionLog()
    with pytest.raises(clv.FormatError) as e:
        log.read_text("customer_id,date,amount\n1,1997-01-01,10\n2,not-a-date,5\n", name="orders")
    assert str(e.value).startswith("orders:3: column 2 (date): expected")
    assert log.customers == 1        # rows before the bad one stay (strict mode)


def test_lenient_log_counts_bad_rows():
    log = clv.TransactionLog(strict=False)
    r = log.read_text("customer_id,date,amount\n1,1997-01-01,10\n2,not-a-date,5\n")
    assert (r.rows_read, r.bad_rows, log.customers) == (2, 1, 1)


def test_state_error_before_fit(log):
    with clv.Forecaster() as f, pytest.raises(clv.StateError) as e:
        f.predict(log)
    assert "fit" in str(e.value)


def test_format_error_for_a_file_that_is_no_model(sim_csv):
    with pytest.raises(clv.FormatError):
        clv.Forecaster.load(sim_csv)


def test_context_managers_free_handles():
    gc.collect()
    before = clv.live_handles()
    with clv.Model(input_size=2, hidden_size=4) as m, clv.Adam() as opt:
        assert clv.live_handles() == before + 2
        m.train_step(opt, np.ones((1, 3, 2), np.float32), np.ones((1, 1), np.float32))
    assert clv.live_handles() == before
    assert m.closed and opt.closed
    with pytest.raises(ValueError, match="Model is closed"):
        m.predict(np.ones((1, 3, 2), np.float32))
    m.close()                        # closing twice is harmless


def test_dataset_views_are_zero_copy_and_outlive_close(log):
    gc.collect()
    before = clv.live_handles()
    with clv.Pipeline() as p:
        ds = p.fit_transform(log, "1997-09-30", "1998-06-30")
        a, b = ds.sequences, ds.sequences
        assert np.shares_memory(a, b)         # both borrow the library's array
        assert not a.flags.writeable
        ds.close()
        assert ds.closed
        expected = a.sum()                    # still readable: the view keeps the memory
        assert clv.live_handles() == before + 2   # pipeline + dataset kept alive by the views
        del a, b
        gc.collect()
        assert clv.live_handles() == before + 1   # the dataset went with its last view
        assert np.isfinite(expected)
    assert clv.live_handles() == before


def test_float32_inputs_are_not_copied():
    a = np.zeros((2, 3, 4), np.float32)
    assert _util.f32(a) is a
    assert _util.f32(a.astype(np.float64)).dtype == np.float32   # converted once
    assert _util.f32(np.asfortranarray(a)).flags.c_contiguous


def test_dates():
    assert clv.to_day("1970-01-02") == 1
    assert clv.to_day("19970930") == clv.to_day(np.datetime64("1997-09-30"))
    import datetime
    assert clv.to_day(datetime.date(1997, 9, 30)) == clv.to_day("1997-09-30")
    assert clv.day_to_str(clv.to_day("1997-09-30")) == "1997-09-30"
    with pytest.raises(clv.FormatError):
        clv.to_day("30/09/1997")


def test_blas_threads():
    n = clv.blas_threads()
    clv.set_blas_threads(1)
    assert clv.blas_threads() == 1
    clv.set_blas_threads(n)
    with pytest.raises(clv.InvalidArgument):
        clv.set_blas_threads(0)


def _import_copy(tmp_path, env_lib=None, with_library=False):
    """Import a copy of the package in a fresh interpreter, optionally with
    libclv.so.0 copied beside it; (returncode, printed library path, stderr)."""
    import os
    import shutil
    import subprocess
    import sys
    shutil.copytree(os.path.dirname(clv.__file__), tmp_path / "clv",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if with_library:
        shutil.copy(os.environ["CLV_LIBRARY"], tmp_path / "clv" / "libclv.so.0")
    env = {k: v for k, v in os.environ.items() if k not in ("CLV_LIBRARY", "PYTHONPATH")}
    if env_lib is not None:
        env["CLV_LIBRARY"] = env_lib
    r = subprocess.run([sys.executable, "-c", "import clv; print(clv.library_path)"],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True)
    return r.returncode, r.stdout.strip(), r.stderr


def test_library_next_to_the_package_is_found(tmp_path):
    rc, path, err = _import_copy(tmp_path, with_library=True)
    assert rc == 0, err
    assert path == str(tmp_path / "clv" / "libclv.so.0")


def test_a_wrong_clv_library_fails_at_import(tmp_path):
    rc, _, err = _import_copy(tmp_path, env_lib=str(tmp_path / "missing.so"))
    assert rc != 0
    assert "LibraryNotFound: cannot load libclv; set CLV_LIBRARY" in err
    assert "missing.so" in err
