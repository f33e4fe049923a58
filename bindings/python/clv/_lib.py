"""Finding libclv, and the ctypes declarations of its C API.

Everything here mirrors include/clv/*.h field for field. Each options struct
is checked at load time against the size its C init function writes into
struct_size, so a header change that the Python side missed fails loudly at
import instead of corrupting memory later.
"""

import ctypes
import ctypes.util
import os

from . import errors

ABI_VERSION = 0   # the soname major this package speaks: libclv.so.0

c_float_p = ctypes.POINTER(ctypes.c_float)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_uint64_p = ctypes.POINTER(ctypes.c_uint64)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)


class ModelOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("cell", ctypes.c_int32),
                ("input_size", ctypes.c_uint32), ("hidden_size", ctypes.c_uint32),
                ("num_layers", ctypes.c_uint32), ("static_size", ctypes.c_uint32),
                ("final_outputs", ctypes.c_uint32), ("step_outputs", ctypes.c_uint32),
                ("seed", ctypes.c_uint64), ("forget_bias", ctypes.c_float),
                ("dropout", ctypes.c_double)]


class OptimOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("kind", ctypes.c_int32),
                ("lr", ctypes.c_float), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("eps", ctypes.c_float), ("weight_decay", ctypes.c_float),
                ("momentum", ctypes.c_float), ("dampening", ctypes.c_float),
                ("nesterov", ctypes.c_int32), ("rho", ctypes.c_float),
                ("clip_norm", ctypes.c_float), ("schedule", ctypes.c_int32),
                ("step_size", ctypes.c_uint32), ("gamma", ctypes.c_float),
                ("total_steps", ctypes.c_uint64), ("min_lr", ctypes.c_float)]


class LossOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("kind", ctypes.c_int32),
                ("reduction", ctypes.c_int32), ("huber_delta", ctypes.c_float)]


class TxlogOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("strict", ctypes.c_int32),
                ("delimiter", ctypes.c_int32), ("header", ctypes.c_int32),
                ("negative_policy", ctypes.c_int32), ("zero_policy", ctypes.c_int32),
                ("duplicate_policy", ctypes.c_int32), ("order_policy", ctypes.c_int32),
                ("max_line_bytes", ctypes.c_uint32), ("threads", ctypes.c_uint32),
                ("shard_count", ctypes.c_uint32), ("shard_index", ctypes.c_uint32)]


class TxlogReport(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64) for name in (
            "rows_read", "rows_used", "bad_rows", "negative_rows", "zero_rows",
            "duplicate_rows", "out_of_order_rows", "customers", "customer_days")] + [
        ("first_day", ctypes.c_int64), ("last_day", ctypes.c_int64)]


class PipelineOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("period", ctypes.c_int32),
                ("max_steps", ctypes.c_uint32), ("pad", ctypes.c_int32),
                ("norm", ctypes.c_int32), ("seq_log1p", ctypes.c_int32),
                ("max_categories", ctypes.c_uint32), ("new_days", ctypes.c_uint32),
                ("active_days", ctypes.c_uint32), ("churn_days", ctypes.c_uint32),
                ("threads", ctypes.c_uint32)]


class SimOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("customers", ctypes.c_uint64),
                ("seed", ctypes.c_uint64), ("start_day", ctypes.c_int32),
                ("days", ctypes.c_uint32), ("acquisition_days", ctypes.c_uint32)] + [
        (name, ctypes.c_double) for name in (
            "r", "alpha", "a", "b", "p", "q", "gamma",
            "weekly_amplitude", "yearly_amplitude", "browse_share")]


class ForecastOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("cell", ctypes.c_int32),
                ("hidden_size", ctypes.c_uint32), ("num_layers", ctypes.c_uint32),
                ("epochs", ctypes.c_uint32), ("batch_size", ctypes.c_uint32),
                ("lr", ctypes.c_float), ("weight_decay", ctypes.c_float),
                ("max_steps", ctypes.c_uint32), ("samples", ctypes.c_uint32),
                ("horizon_days", ctypes.c_uint32), ("seed", ctypes.c_uint64),
                ("valid_weeks", ctypes.c_uint32), ("max_epochs", ctypes.c_uint32),
                ("ensemble", ctypes.c_uint32), ("threads", ctypes.c_uint32),
                ("dropout", ctypes.c_float)]


class FitProgress(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("epoch", ctypes.c_uint32),
                ("epochs", ctypes.c_uint32), ("train_loss", ctypes.c_double),
                ("elapsed_seconds", ctypes.c_double), ("eta_seconds", ctypes.c_double),
                ("valid_loss", ctypes.c_double)]


class BtydOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_iterations", ctypes.c_uint32),
                ("tolerance", ctypes.c_double), ("penalty", ctypes.c_double)]


class Metrics(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (name, ctypes.c_double) for name in (
            "mae", "rmse", "r2", "spearman", "gini_norm", "decile_mape", "total_pct_error")]


FIT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(FitProgress), ctypes.c_void_p)

_u32, _i32, _u64, _i64 = ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64, ctypes.c_int64
_int, _vp, _cp, _sz, _dbl = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_double
_fp, _dp, _ip, _up = c_float_p, c_double_p, c_int32_p, c_uint64_p
_pp = c_void_pp
_P = ctypes.POINTER

# name: (restype, argtypes). Handles travel as void*.
_SIGNATURES = {
    # version.h, error.h, common.h, io.h
    "clv_version": (_cp, []),
    "clv_version_number": (_u32, []),
    "clv_abi_version": (_u32, []),
    "clv_status_str": (_cp, [_int]),
    "clv_last_error": (_cp, []),
    "clv_last_error_code": (_int, []),
    "clv_clear_error": (None, []),
    "clv_free": (None, [_vp]),
    "clv_blas_set_num_threads": (_int, [_i32]),
    "clv_blas_num_threads": (_i32, []),
    "clv_model_format_major": (_u32, []),
    "clv_model_format_minor": (_u32, []),
    "clv_file_format_version": (_int, [_cp, _P(_u32), _P(_u32)]),
    # model.h
    "clv_model_options_init": (None, [_P(ModelOptions)]),
    "clv_model_new": (_int, [_pp, _P(ModelOptions)]),
    "clv_model_free": (None, [_vp]),
    "clv_model_set_num_threads": (_int, [_vp, _i32]),
    "clv_model_num_threads": (_i32, [_vp]),
    "clv_model_get_options": (_int, [_vp, _P(ModelOptions)]),
    "clv_workspace_new": (_int, [_pp]),
    "clv_workspace_free": (None, [_vp]),
    "clv_model_predict": (_int, [_vp, _vp, _u32, _u32, _fp, _ip, _fp, _fp, _fp]),
    "clv_model_forward": (_int, [_vp, _u32, _u32, _fp, _ip, _fp, _fp, _fp]),
    "clv_model_backward": (_int, [_vp, _fp, _fp, _fp, _fp]),
    "clv_model_zero_grad": (_int, [_vp]),
    "clv_model_param_count": (_u64, [_vp]),
    "clv_model_param_tensor_count": (_u32, [_vp]),
    "clv_model_param_tensor_info": (_int, [_vp, _u32, _P(_cp), _P(_u64), _P(_u32), _P(_u32)]),
    "clv_model_get_params": (_int, [_vp, _fp, _u64]),
    "clv_model_set_params": (_int, [_vp, _fp, _u64]),
    "clv_model_get_grads": (_int, [_vp, _fp, _u64]),
    # optim.h, loss.h, train.h
    "clv_optim_options_init": (None, [_P(OptimOptions), _i32]),
    "clv_optim_new": (_int, [_pp, _P(OptimOptions)]),
    "clv_optim_free": (None, [_vp]),
    "clv_optim_step": (_int, [_vp, _vp]),
    "clv_optim_step_raw": (_int, [_vp, _u64, _fp, _fp]),
    "clv_optim_reset": (_int, [_vp]),
    "clv_optim_step_count": (_u64, [_vp]),
    "clv_optim_last_lr": (ctypes.c_float, [_vp]),
    "clv_optim_last_grad_norm": (ctypes.c_float, [_vp]),
    "clv_loss_options_init": (None, [_P(LossOptions)]),
    "clv_loss_target_dim": (_int, [_P(LossOptions), _u32, _P(_u32)]),
    "clv_loss_eval": (_int, [_P(LossOptions), _u32, _u32, _fp, _fp, _fp, _fp, _dp, _fp]),
    "clv_ziln_mean": (_int, [_u32, _fp, _fp, _fp]),
    "clv_model_train_step": (_int, [_vp, _vp, _P(LossOptions), _u32, _u32, _fp, _ip, _fp,
                                    _fp, _fp, _dp]),
    # pipeline.h
    "clv_txlog_options_init": (None, [_P(TxlogOptions)]),
    "clv_txlog_report_init": (None, [_P(TxlogReport)]),
    "clv_txlog_new": (_int, [_pp, _P(TxlogOptions)]),
    "clv_txlog_free": (None, [_vp]),
    "clv_txlog_set_column": (_int, [_vp, _i32, _cp, _i32]),
    "clv_txlog_read_csv": (_int, [_vp, _cp, _P(TxlogReport)]),
    "clv_txlog_read_csv_buffer": (_int, [_vp, _cp, _sz, _cp, _P(TxlogReport)]),
    "clv_txlog_append": (_int, [_vp, _u64, _P(_cp), _ip, _fp, _fp, _ip, _P(TxlogReport)]),
    "clv_txlog_append_u64": (_int, [_vp, _u64, _up, _ip, _fp, _fp, _ip, _P(TxlogReport)]),
    "clv_txlog_get_report": (_int, [_vp, _P(TxlogReport)]),
    "clv_date_parse": (_int, [_cp, _ip]),
    "clv_date_format": (_int, [_i32, _cp, _sz]),
    "clv_pipeline_options_init": (None, [_P(PipelineOptions)]),
    "clv_pipeline_new": (_int, [_pp, _P(PipelineOptions)]),
    "clv_pipeline_free": (None, [_vp]),
    "clv_pipeline_fit": (_int, [_vp, _vp, _i32]),
    "clv_pipeline_is_fitted": (_i32, [_vp]),
    "clv_pipeline_transform": (_int, [_vp, _vp, _i32, _i32, _pp]),
    "clv_pipeline_seq_features": (_u32, [_vp]),
    "clv_pipeline_static_features": (_u32, [_vp]),
    "clv_pipeline_seq_feature_name": (_cp, [_vp, _u32]),
    "clv_pipeline_static_feature_name": (_cp, [_vp, _u32]),
    "clv_dataset_free": (None, [_vp]),
    "clv_dataset_customers": (_u64, [_vp]),
    "clv_dataset_steps": (_u32, [_vp]),
    "clv_dataset_seq_features": (_u32, [_vp]),
    "clv_dataset_static_features": (_u32, [_vp]),
    "clv_dataset_cutoff_day": (_i32, [_vp]),
    "clv_dataset_holdout_end_day": (_i32, [_vp]),
    "clv_dataset_customer_id": (_cp, [_vp, _u64]),
    "clv_stage_name": (_cp, [_i32]),
    # simulate.h
    "clv_sim_options_init": (None, [_P(SimOptions)]),
    "clv_simulate_to_txlog": (_int, [_P(SimOptions), _vp]),
    "clv_simulate_to_csv": (_int, [_P(SimOptions), _cp]),
    "clv_simulate_truth": (_int, [_P(SimOptions), _i32, _i32, _fp, _fp, _fp]),
    # forecast.h
    "clv_forecast_options_init": (None, [_P(ForecastOptions)]),
    "clv_forecaster_new": (_int, [_pp, _P(ForecastOptions)]),
    "clv_forecaster_free": (None, [_vp]),
    "clv_forecaster_get_options": (_int, [_vp, _P(ForecastOptions)]),
    "clv_forecaster_set_callback": (_int, [_vp, FIT_CALLBACK, _vp]),
    "clv_forecaster_fit": (_int, [_vp, _vp, _i32]),
    "clv_forecaster_set_threads": (_int, [_vp, _i32]),
    "clv_forecaster_threads": (_i32, [_vp]),
    "clv_forecaster_is_fitted": (_i32, [_vp]),
    "clv_forecaster_fit_cutoff": (_i32, [_vp]),
    "clv_forecaster_predict": (_int, [_vp, _vp, _i32, _u32, _pp]),
    "clv_forecaster_save": (_int, [_vp, _cp]),
    "clv_forecaster_save_buffer": (_int, [_vp, _pp, _P(_sz)]),
    "clv_forecaster_load": (_int, [_pp, _cp]),
    "clv_forecaster_load_buffer": (_int, [_pp, _vp, _sz]),
    "clv_prediction_free": (None, [_vp]),
    "clv_prediction_customers": (_u64, [_vp]),
    "clv_prediction_at_day": (_i32, [_vp]),
    "clv_prediction_horizon_days": (_u32, [_vp]),
    "clv_prediction_customer_id": (_cp, [_vp, _u64]),
    "clv_forecaster_explain": (_int, [_vp, _vp, _i32, _cp, _pp]),
    "clv_explanation_free": (None, [_vp]),
    "clv_explanation_inputs": (_u32, [_vp]),
    "clv_explanation_weeks": (_u32, [_vp]),
    "clv_explanation_input_name": (_cp, [_vp, _u32]),
    "clv_explanation_attributions": (_vp, [_vp]),
    "clv_explanation_value": (_dbl, [_vp]),
    "clv_explanation_baseline": (_dbl, [_vp]),
    # backtest.h, metrics.h
    "clv_backtest_model_available": (_int, [_i32]),
    "clv_backtest_model_lookup": (_int, [_cp, _ip]),
    "clv_backtest_run": (_int, [_vp, _i32, _i32, _P(ForecastOptions), FIT_CALLBACK, _vp, _pp]),
    "clv_backtest_free": (None, [_vp]),
    "clv_backtest_customers": (_u64, [_vp]),
    "clv_backtest_actual_spend": (_dbl, [_vp]),
    "clv_backtest_actual_transactions": (_dbl, [_vp]),
    "clv_backtest_actual_active": (_dbl, [_vp]),
    "clv_backtest_models": (_u32, [_vp]),
    "clv_backtest_model_name": (_cp, [_vp, _u32]),
    "clv_backtest_scores": (_int, [_vp, _u32, _P(Metrics), _dp, _dp, _dp, _dp]),
    "clv_backtest_pred_spend": (_vp, [_vp, _u32]),
    "clv_backtest_pred_transactions": (_vp, [_vp, _u32]),
    "clv_backtest_interval_coverage": (_int, [_vp, _u32, _dp]),
    "clv_backtest_actual_spend_per_customer": (_vp, [_vp]),
    "clv_metrics_init": (None, [_P(Metrics)]),
    "clv_metrics_compute": (_int, [_u64, _fp, _fp, _P(Metrics)]),
    "clv_metric_auc": (_int, [_u64, _fp, _fp, _dp]),
    "clv_decile_table": (_int, [_u64, _fp, _fp, _dp, _dp, _up]),
    # btyd.h
    "clv_btyd_options_init": (None, [_P(BtydOptions)]),
    "clv_bgnbd_fit": (_int, [_P(BtydOptions), _u64, _fp, _fp, _fp, _dp, _dp]),
    "clv_bgnbd_expected": (_int, [_dp, _u64, _fp, _fp, _fp, _dbl, _fp, _fp]),
    "clv_bgnbd_loglik": (_int, [_dp, _u64, _fp, _fp, _fp, _dp]),
    "clv_paretonbd_fit": (_int, [_P(BtydOptions), _u64, _fp, _fp, _fp, _dp, _dp]),
    "clv_paretonbd_expected": (_int, [_dp, _u64, _fp, _fp, _fp, _dbl, _fp, _fp]),
    "clv_paretonbd_loglik": (_int, [_dp, _u64, _fp, _fp, _fp, _dp]),
    "clv_gammagamma_fit": (_int, [_P(BtydOptions), _u64, _fp, _fp, _dp, _dp]),
    "clv_gammagamma_expected_value": (_int, [_dp, _u64, _fp, _fp, _fp]),
    "clv_gammagamma_loglik": (_int, [_dp, _u64, _fp, _fp, _dp]),
    "clv_hyp2f1": (_int, [_dbl, _dbl, _dbl, _dbl, _dp]),
}

# Borrowed arrays of datasets and predictions: (name, element type).
for _name in ("sequences", "static", "target_spend", "target_transactions", "target_active",
              "frequency", "recency_days", "age_days", "monetary_repeat", "calibration_spend",
              "lengths", "stages"):
    _SIGNATURES["clv_dataset_" + _name] = (_vp, [_vp])
for _name in ("spend", "transactions", "p_active", "spend_p10", "spend_p90", "stages"):
    _SIGNATURES["clv_prediction_" + _name] = (_vp, [_vp])

# Options structs and the C function that fills them (plus its extra args).
_STRUCT_INITS = [
    (ModelOptions, "clv_model_options_init", ()), (OptimOptions, "clv_optim_options_init", (1,)),
    (LossOptions, "clv_loss_options_init", ()), (TxlogOptions, "clv_txlog_options_init", ()),
    (TxlogReport, "clv_txlog_report_init", ()), (PipelineOptions, "clv_pipeline_options_init", ()),
    (SimOptions, "clv_sim_options_init", ()), (ForecastOptions, "clv_forecast_options_init", ()),
    (BtydOptions, "clv_btyd_options_init", ()), (Metrics, "clv_metrics_init", ()),
]


def _candidates():
    """Where to look, in order: $CLV_LIBRARY, this package's directory, the system."""
    env = os.environ.get("CLV_LIBRARY")
    if env:
        return [env]   # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, "libclv.so.%d" % ABI_VERSION), os.path.join(here, "libclv.so")]
    found = [p for p in found if os.path.exists(p)]
    system = ctypes.util.find_library("clv")
    return found + ([system] if system else []) + ["libclv.so.%d" % ABI_VERSION]


def _open():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise errors.LibraryNotFound(
        "cannot load libclv; set CLV_LIBRARY to the path of libclv.so.%d. Tried: %s"
        % (ABI_VERSION, "; ".join(tried)))


def _declare(lib):
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)    # AttributeError here: the library lacks a function we need
        fn.restype = restype
        fn.argtypes = argtypes
    if lib.clv_abi_version() != ABI_VERSION:
        raise errors.LibraryNotFound(
            "libclv at %s has ABI %d, this package needs ABI %d"
            % (path, lib.clv_abi_version(), ABI_VERSION))
    for struct, init, extra in _STRUCT_INITS:
        s = struct()
        getattr(lib, init)(ctypes.byref(s), *extra)
        if s.struct_size != ctypes.sizeof(struct):
            raise errors.LibraryNotFound(
                "%s: the library's struct is %d bytes, this package's %d: "
                "the package does not match the library's headers"
                % (struct.__name__, s.struct_size, ctypes.sizeof(struct)))


lib, path = _open()
_declare(lib)


def check(status):
    """Raise the exception mapped from a failed C status, carrying the C message."""
    if status != 0:
        raise errors.from_status(status, lib.clv_last_error().decode("utf-8", "replace"),
                                 lib.clv_status_str(status).decode())


def new_options(struct, *extra):
    """A struct filled with the library's defaults (its C init function)."""
    for s, init, _ in _STRUCT_INITS:
        if s is struct:
            opts = struct()
            getattr(lib, init)(ctypes.byref(opts), *extra)
            return opts
    raise TypeError(struct)
