/**
 * @file clv.hpp
 * @brief Header-only C++11 wrapper of the libclv C API: owning handles that
 *        free themselves, and exceptions instead of status codes.
 *
 * The wrapper adds nothing to the library; every method is one C call (plus,
 * for the std::vector overloads, a size check). Read it next to the C headers:
 *  - one move-only class per handle (clv::model owns a clv_model *, ...), freed
 *    by the matching clv_X_free() in its destructor. A moved-from object is
 *    empty (`!obj`, get() == nullptr); calling the library through it fails as
 *    the C function does on NULL, with a clv::error. get() lends the C handle
 *    for direct C calls; release() gives it up (free it yourself).
 *  - a failed C call throws clv::error carrying the clv_status (status()) and
 *    the thread's clv_last_error() message (what()).
 *  - options are the C structs: clv::model_options() etc. return them filled
 *    with the defaults (clv_X_options_init()), ready to edit.
 *  - std::vector overloads check every length against the shapes given and
 *    throw clv::error(CLV_ESHAPE) before the library could read past the end;
 *    the pointer overloads trust their caller, exactly like the C API.
 *  - arrays owned by a dataset, prediction, explanation or backtest are lent
 *    as `const T *` (as in C: valid while the owning object lives); strings
 *    are copied into std::string.
 * C callbacks (progress, learning-rate schedule) are plain C function
 * pointers: they must not let an exception escape into the library.
 *
 * @code
 * #include <clv/clv.hpp>
 * clv::txlog log;
 * log.read_csv("orders.csv");
 * clv_forecast_options fo = clv::forecast_options();
 * clv::forecaster f(fo);
 * f.fit(log, clv::date_parse("2024-12-31"));          // throws clv::error on failure
 * clv::prediction p = f.predict(log, clv::date_parse("2024-12-31"));
 * @endcode
 */
#ifndef CLV_CLV_HPP
#define CLV_CLV_HPP

#include "clv.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace clv {

/** A failed libclv call: the status code and the library's message. */
class error : public std::runtime_error {
public:
    error(int status, const std::string &message)
        : std::runtime_error(message.empty() ? clv_status_str(status) : message), status_(status)
    {
    }
    /** The clv_status of the failed call (a negative CLV_E* value). */
    int status() const noexcept { return status_; }

private:
    int status_;
};

/** Throw clv::error for a failed status, with this thread's clv_last_error(). */
inline void check(int status)
{
    if (status != CLV_OK)
        throw error(status, clv_last_error());
}

namespace detail {

/* One deleter for every handle type, so each class is a std::unique_ptr. */
struct free_handle {
    void operator()(clv_model *p) const noexcept { clv_model_free(p); }
    void operator()(clv_workspace *p) const noexcept { clv_workspace_free(p); }
    void operator()(clv_optim *p) const noexcept { clv_optim_free(p); }
    void operator()(clv_txlog *p) const noexcept { clv_txlog_free(p); }
    void operator()(clv_pipeline *p) const noexcept { clv_pipeline_free(p); }
    void operator()(clv_dataset *p) const noexcept { clv_dataset_free(p); }
    void operator()(clv_forecaster *p) const noexcept { clv_forecaster_free(p); }
    void operator()(clv_prediction *p) const noexcept { clv_prediction_free(p); }
    void operator()(clv_explanation *p) const noexcept { clv_explanation_free(p); }
    void operator()(clv_backtest *p) const noexcept { clv_backtest_free(p); }
};

/* The C API never returns a NULL string where one is promised, except for an
 * index out of range: say so instead of constructing std::string(NULL). */
inline std::string string_at(const char *s, const char *what)
{
    if (!s)
        throw error(CLV_EINVAL, std::string(what) + ": index out of range");
    return s;
}

inline void check_size(std::size_t got, std::uint64_t want, const char *what)
{
    if (got != want)
        throw error(CLV_ESHAPE, std::string(what) + " has " + std::to_string(got) +
                                    " elements, the shape needs " + std::to_string(want));
}

/* An optional input: empty means NULL (the C default), else the exact size. */
template <typename T>
const T *optional_data(const std::vector<T> &v, std::uint64_t want, const char *what)
{
    if (v.empty())
        return nullptr;
    check_size(v.size(), want, what);
    return v.data();
}

/* clv_X_new() for the constructors: the new handle, or a clv::error. */
inline clv_workspace *create_workspace()
{
    clv_workspace *p = nullptr;
    check(clv_workspace_new(&p));
    return p;
}
inline clv_model *create(const clv_model_options &opts)
{
    clv_model *p = nullptr;
    check(clv_model_new(&p, &opts));
    return p;
}
inline clv_optim *create(const clv_optim_options &opts)
{
    clv_optim *p = nullptr;
    check(clv_optim_new(&p, &opts));
    return p;
}
inline clv_txlog *create(const clv_txlog_options &opts)
{
    clv_txlog *p = nullptr;
    check(clv_txlog_new(&p, &opts));
    return p;
}
inline clv_pipeline *create(const clv_pipeline_options &opts)
{
    clv_pipeline *p = nullptr;
    check(clv_pipeline_new(&p, &opts));
    return p;
}
inline clv_forecaster *create(const clv_forecast_options &opts)
{
    clv_forecaster *p = nullptr;
    check(clv_forecaster_new(&p, &opts));
    return p;
}

} // namespace detail

/** The owning base of every handle class: move-only, frees on destruction. */
template <typename T>
class handle {
public:
    /** The C handle, lent (nullptr when empty). */
    T *get() const noexcept { return ptr_.get(); }
    /** Give up ownership: the caller frees the returned handle. */
    T *release() noexcept { return ptr_.release(); }
    explicit operator bool() const noexcept { return ptr_ != nullptr; }

protected:
    handle() noexcept = default;
    explicit handle(T *owned) noexcept : ptr_(owned) {}

private:
    std::unique_ptr<T, detail::free_handle> ptr_;
};

/* ------------------------------------------------------------------ */
/* Options, filled with the defaults. */

inline clv_model_options model_options()
{
    clv_model_options o;
    clv_model_options_init(&o);
    return o;
}
inline clv_optim_options optim_options(std::int32_t kind = CLV_OPTIM_ADAM)
{
    clv_optim_options o;
    clv_optim_options_init(&o, kind);
    return o;
}
inline clv_loss_options loss_options()
{
    clv_loss_options o;
    clv_loss_options_init(&o);
    return o;
}
inline clv_txlog_options txlog_options()
{
    clv_txlog_options o;
    clv_txlog_options_init(&o);
    return o;
}
inline clv_pipeline_options pipeline_options()
{
    clv_pipeline_options o;
    clv_pipeline_options_init(&o);
    return o;
}
inline clv_forecast_options forecast_options()
{
    clv_forecast_options o;
    clv_forecast_options_init(&o);
    return o;
}
inline clv_sim_options sim_options()
{
    clv_sim_options o;
    clv_sim_options_init(&o);
    return o;
}
inline clv_btyd_options btyd_options()
{
    clv_btyd_options o;
    clv_btyd_options_init(&o);
    return o;
}

/* ------------------------------------------------------------------ */
/* Process-wide functions. */

inline std::string version() { return clv_version(); }
inline std::string status_str(int status) { return clv_status_str(status); }
inline void blas_set_num_threads(std::int32_t n) { check(clv_blas_set_num_threads(n)); }
inline std::int32_t blas_num_threads() { return clv_blas_num_threads(); }

/** Days since 1970-01-01 of "YYYY-MM-DD", "YYYYMMDD" or an ISO 8601 timestamp. */
inline std::int32_t date_parse(const std::string &text)
{
    std::int32_t day = 0;
    check(clv_date_parse(text.c_str(), &day));
    return day;
}

/** "YYYY-MM-DD" of a day. */
inline std::string date_format(std::int32_t day)
{
    char buf[16];
    check(clv_date_format(day, buf, sizeof buf));
    return buf;
}

inline std::string stage_name(std::int32_t stage) { return clv_stage_name(stage); }

/** Format version {major, minor} in a model file's header. */
struct file_version {
    std::uint32_t major_version, minor_version;
};
inline file_version file_format_version(const std::string &path)
{
    file_version v = {0, 0};
    check(clv_file_format_version(path.c_str(), &v.major_version, &v.minor_version));
    return v;
}

/** Every spend metric of pred against actual (clv_metrics_compute). */
inline clv_metrics metrics(const std::vector<float> &pred, const std::vector<float> &actual)
{
    detail::check_size(actual.size(), pred.size(), "actual");
    clv_metrics m;
    clv_metrics_init(&m);
    check(clv_metrics_compute(pred.size(), pred.data(), actual.data(), &m));
    return m;
}

/** AUC of score against 0/1 labels (clv_metric_auc). */
inline double metric_auc(const std::vector<float> &score, const std::vector<float> &label)
{
    detail::check_size(label.size(), score.size(), "label");
    double out = 0;
    check(clv_metric_auc(score.size(), score.data(), label.data(), &out));
    return out;
}

/* ------------------------------------------------------------------ */
/* Sequence models, workspaces, optimizers (model.h, optim.h, train.h). */

class model;

/** Scratch memory for model::predict() from one thread. */
class workspace : public handle<clv_workspace> {
public:
    workspace() : handle(detail::create_workspace()) {}
    explicit workspace(clv_workspace *owned) noexcept : handle(owned) {}
    inline void reserve(const model &m, std::uint32_t batch, std::uint32_t steps);
};

class optim;

class model : public handle<clv_model> {
public:
    explicit model(const clv_model_options &opts) : handle(detail::create(opts)) {}
    explicit model(clv_model *owned) noexcept : handle(owned) {}

    clv_model_options options() const
    {
        clv_model_options o = model_options();
        check(clv_model_get_options(get(), &o));
        return o;
    }
    void set_num_threads(std::int32_t n) { check(clv_model_set_num_threads(get(), n)); }
    std::int32_t num_threads() const { return clv_model_num_threads(get()); }

    /** clv_model_predict() as in C; ws may be nullptr. */
    void predict(workspace *ws, std::uint32_t batch, std::uint32_t steps, const float *x,
                 const std::int32_t *lengths, const float *static_x, float *final_out,
                 float *step_out) const
    {
        check(clv_model_predict(get(), ws ? ws->get() : nullptr, batch, steps, x, lengths,
                                static_x, final_out, step_out));
    }

    /**
     * The final head's outputs [batch][final_outputs] for x [batch][steps][F];
     * lengths [batch] and static_x [batch][S] may be empty (all steps, S = 0).
     */
    std::vector<float> predict(std::uint32_t batch, std::uint32_t steps, const std::vector<float> &x,
                               const std::vector<std::int32_t> &lengths = std::vector<std::int32_t>(),
                               const std::vector<float> &static_x = std::vector<float>(),
                               workspace *ws = nullptr) const
    {
        const clv_model_options o = options();
        if (o.final_outputs == 0)
            throw error(CLV_ESHAPE, "predict(std::vector): the model has no final head; "
                                    "use the pointer overload for per-step outputs");
        detail::check_size(x.size(), std::uint64_t(batch) * steps * o.input_size, "x");
        std::vector<float> out(std::size_t(batch) * o.final_outputs);
        predict(ws, batch, steps, x.data(), detail::optional_data(lengths, batch, "lengths"),
                detail::optional_data(static_x, std::uint64_t(batch) * o.static_size, "static_x"),
                out.data(), nullptr);
        return out;
    }

    /** clv_model_train_step() as in C: returns the loss before the update. */
    double train_step(optim &opt, const clv_loss_options &loss, std::uint32_t batch,
                      std::uint32_t steps, const float *x, const std::int32_t *lengths,
                      const float *static_x, const float *target, const float *weight);

    /**
     * One training step on a final head: x [batch][steps][F], target
     * [batch][target_dim] (clv_loss_target_dim()); lengths, static_x and
     * weight [batch] may be empty.
     */
    double train_step(optim &opt, const clv_loss_options &loss, std::uint32_t batch,
                      std::uint32_t steps, const std::vector<float> &x,
                      const std::vector<float> &target,
                      const std::vector<std::int32_t> &lengths = std::vector<std::int32_t>(),
                      const std::vector<float> &static_x = std::vector<float>(),
                      const std::vector<float> &weight = std::vector<float>());

    /* Custom training loops: the C calls, with the C pointers. */
    void forward(std::uint32_t batch, std::uint32_t steps, const float *x, const std::int32_t *lengths,
                 const float *static_x, float *final_out, float *step_out)
    {
        check(clv_model_forward(get(), batch, steps, x, lengths, static_x, final_out, step_out));
    }
    void backward(const float *d_final, const float *d_step, float *d_x, float *d_static)
    {
        check(clv_model_backward(get(), d_final, d_step, d_x, d_static));
    }
    void zero_grad() { check(clv_model_zero_grad(get())); }

    std::uint64_t param_count() const { return clv_model_param_count(get()); }
    std::vector<float> params() const
    {
        std::vector<float> out(static_cast<std::size_t>(param_count()));
        check(clv_model_get_params(get(), out.data(), out.size()));
        return out;
    }
    void set_params(const std::vector<float> &in)
    {
        check(clv_model_set_params(get(), in.data(), in.size()));
    }
    std::vector<float> grads() const
    {
        std::vector<float> out(static_cast<std::size_t>(param_count()));
        check(clv_model_get_grads(get(), out.data(), out.size()));
        return out;
    }
};

inline void workspace::reserve(const model &m, std::uint32_t batch, std::uint32_t steps)
{
    check(clv_workspace_reserve(get(), m.get(), batch, steps));
}

class optim : public handle<clv_optim> {
public:
    explicit optim(const clv_optim_options &opts) : handle(detail::create(opts)) {}
    explicit optim(clv_optim *owned) noexcept : handle(owned) {}

    /** Update m's parameters from its gradients. */
    void step(model &m) { check(clv_optim_step(get(), m.get())); }
    /** The same update on any flat buffer; params and grads have the same length. */
    void step_raw(std::vector<float> &params, const std::vector<float> &grads)
    {
        detail::check_size(grads.size(), params.size(), "grads");
        check(clv_optim_step_raw(get(), params.size(), params.data(), grads.data()));
    }
    void set_lr_callback(clv_lr_callback fn, void *user_data)
    {
        check(clv_optim_set_lr_callback(get(), fn, user_data));
    }
    void reset() { check(clv_optim_reset(get())); }
    std::uint64_t step_count() const { return clv_optim_step_count(get()); }
    float last_lr() const { return clv_optim_last_lr(get()); }
    float last_grad_norm() const { return clv_optim_last_grad_norm(get()); }
};

inline double model::train_step(optim &opt, const clv_loss_options &loss, std::uint32_t batch,
                                std::uint32_t steps, const float *x, const std::int32_t *lengths,
                                const float *static_x, const float *target, const float *weight)
{
    double value = 0;
    check(clv_model_train_step(get(), opt.get(), &loss, batch, steps, x, lengths, static_x, target,
                               weight, &value));
    return value;
}

inline double model::train_step(optim &opt, const clv_loss_options &loss, std::uint32_t batch,
                                std::uint32_t steps, const std::vector<float> &x,
                                const std::vector<float> &target,
                                const std::vector<std::int32_t> &lengths,
                                const std::vector<float> &static_x,
                                const std::vector<float> &weight)
{
    const clv_model_options o = options();
    if (o.final_outputs == 0)
        throw error(CLV_ESHAPE, "train_step(std::vector): the model has no final head; "
                                "use the pointer overload for a per-step head");
    std::uint32_t target_dim = 0;
    check(clv_loss_target_dim(&loss, o.final_outputs, &target_dim));
    detail::check_size(x.size(), std::uint64_t(batch) * steps * o.input_size, "x");
    detail::check_size(target.size(), std::uint64_t(batch) * target_dim, "target");
    return train_step(opt, loss, batch, steps, x.data(),
                      detail::optional_data(lengths, batch, "lengths"),
                      detail::optional_data(static_x, std::uint64_t(batch) * o.static_size, "static_x"),
                      target.data(), detail::optional_data(weight, batch, "weight"));
}

/* ------------------------------------------------------------------ */
/* Transaction logs, pipelines, datasets (pipeline.h, simulate.h). */

class txlog : public handle<clv_txlog> {
public:
    txlog() : txlog(txlog_options()) {}
    explicit txlog(const clv_txlog_options &opts) : handle(detail::create(opts)) {}
    explicit txlog(clv_txlog *owned) noexcept : handle(owned) {}

    /** Map a column role (clv_column_role) to a header name... */
    void set_column(std::int32_t role, const std::string &name)
    {
        check(clv_txlog_set_column(get(), role, name.c_str(), 0));
    }
    /** ...or to a 1-based column index. */
    void set_column(std::int32_t role, std::int32_t index)
    {
        check(clv_txlog_set_column(get(), role, nullptr, index));
    }

    /** Stream a delimited text file into the log; returns this read's report. */
    clv_txlog_report read_csv(const std::string &path)
    {
        clv_txlog_report r;
        clv_txlog_report_init(&r);
        check(clv_txlog_read_csv(get(), path.c_str(), &r));
        return r;
    }
    /** The same from text in memory; name is used in messages. */
    clv_txlog_report read_csv_buffer(const std::string &text, const std::string &name = "buffer")
    {
        clv_txlog_report r;
        clv_txlog_report_init(&r);
        check(clv_txlog_read_csv_buffer(get(), text.data(), text.size(), name.c_str(), &r));
        return r;
    }

    /** Append rows; quantities and events may be empty (1 item, purchases). */
    clv_txlog_report append(const std::vector<std::string> &ids, const std::vector<std::int32_t> &days,
                            const std::vector<float> &amounts,
                            const std::vector<float> &quantities = std::vector<float>(),
                            const std::vector<std::int32_t> &events = std::vector<std::int32_t>())
    {
        std::vector<const char *> cids;
        cids.reserve(ids.size());
        for (const std::string &id : ids)
            cids.push_back(id.c_str());
        return append_rows(cids.data(), ids.size(), days, amounts, quantities, events,
                           &clv_txlog_append);
    }
    clv_txlog_report append(const std::vector<std::uint64_t> &ids, const std::vector<std::int32_t> &days,
                            const std::vector<float> &amounts,
                            const std::vector<float> &quantities = std::vector<float>(),
                            const std::vector<std::int32_t> &events = std::vector<std::int32_t>())
    {
        return append_rows(ids.data(), ids.size(), days, amounts, quantities, events,
                           &clv_txlog_append_u64);
    }

    /** Totals of the log so far. */
    clv_txlog_report report() const
    {
        clv_txlog_report r;
        clv_txlog_report_init(&r);
        check(clv_txlog_get_report(get(), &r));
        return r;
    }

private:
    template <typename Id, typename Append>
    clv_txlog_report append_rows(const Id *ids, std::size_t n, const std::vector<std::int32_t> &days,
                                 const std::vector<float> &amounts,
                                 const std::vector<float> &quantities,
                                 const std::vector<std::int32_t> &events, Append fn)
    {
        detail::check_size(days.size(), n, "days");
        detail::check_size(amounts.size(), n, "amounts");
        clv_txlog_report r;
        clv_txlog_report_init(&r);
        check(fn(get(), n, ids, days.data(), amounts.data(),
                 detail::optional_data(quantities, n, "quantities"),
                 detail::optional_data(events, n, "events"), &r));
        return r;
    }
};

/** Append the generator's synthetic log to `log`. */
inline void simulate_to_txlog(const clv_sim_options &opts, txlog &log)
{
    check(clv_simulate_to_txlog(&opts, log.get()));
}
/** Write the synthetic log as CSV, atomically. */
inline void simulate_to_csv(const clv_sim_options &opts, const std::string &path)
{
    check(clv_simulate_to_csv(&opts, path.c_str()));
}

/** The generator's ground truth per customer (customer i has id i+1). */
struct sim_truth {
    std::vector<float> expected_transactions, expected_spend, alive_at_cutoff;
};
inline sim_truth simulate_truth(const clv_sim_options &opts, std::int32_t cutoff_day,
                                std::int32_t holdout_end_day)
{
    const std::size_t n = static_cast<std::size_t>(opts.customers);
    sim_truth t;
    t.expected_transactions.resize(n);
    t.expected_spend.resize(n);
    t.alive_at_cutoff.resize(n);
    check(clv_simulate_truth(&opts, cutoff_day, holdout_end_day, t.expected_transactions.data(),
                             t.expected_spend.data(), t.alive_at_cutoff.data()));
    return t;
}

/** Sequences, features and targets at a cutoff; the arrays are lent (pipeline.h). */
class dataset : public handle<clv_dataset> {
public:
    explicit dataset(clv_dataset *owned) noexcept : handle(owned) {}

    std::uint64_t customers() const { return clv_dataset_customers(get()); }
    std::uint32_t steps() const { return clv_dataset_steps(get()); }
    std::uint32_t seq_features() const { return clv_dataset_seq_features(get()); }
    std::uint32_t static_features() const { return clv_dataset_static_features(get()); }
    std::int32_t cutoff_day() const { return clv_dataset_cutoff_day(get()); }
    std::int32_t holdout_end_day() const { return clv_dataset_holdout_end_day(get()); }
    const float *sequences() const { return clv_dataset_sequences(get()); }
    const std::int32_t *lengths() const { return clv_dataset_lengths(get()); }
    const float *static_x() const { return clv_dataset_static(get()); }
    const float *target_spend() const { return clv_dataset_target_spend(get()); }
    const float *target_transactions() const { return clv_dataset_target_transactions(get()); }
    const float *target_active() const { return clv_dataset_target_active(get()); }
    const std::int32_t *stages() const { return clv_dataset_stages(get()); }
    const float *frequency() const { return clv_dataset_frequency(get()); }
    const float *recency_days() const { return clv_dataset_recency_days(get()); }
    const float *age_days() const { return clv_dataset_age_days(get()); }
    const float *monetary_repeat() const { return clv_dataset_monetary_repeat(get()); }
    const float *calibration_spend() const { return clv_dataset_calibration_spend(get()); }
    std::string customer_id(std::uint64_t i) const
    {
        return detail::string_at(clv_dataset_customer_id(get(), i), "dataset::customer_id");
    }
};

class pipeline : public handle<clv_pipeline> {
public:
    pipeline() : pipeline(pipeline_options()) {}
    explicit pipeline(const clv_pipeline_options &opts) : handle(detail::create(opts)) {}
    explicit pipeline(clv_pipeline *owned) noexcept : handle(owned) {}

    void fit(const txlog &log, std::int32_t cutoff_day)
    {
        check(clv_pipeline_fit(get(), log.get(), cutoff_day));
    }
    bool is_fitted() const { return clv_pipeline_is_fitted(get()) != 0; }
    /** holdout_end_day <= cutoff_day: no targets (0). */
    dataset transform(const txlog &log, std::int32_t cutoff_day, std::int32_t holdout_end_day) const
    {
        clv_dataset *d = nullptr;
        check(clv_pipeline_transform(get(), log.get(), cutoff_day, holdout_end_day, &d));
        return dataset(d);
    }
    std::uint32_t seq_features() const { return clv_pipeline_seq_features(get()); }
    std::uint32_t static_features() const { return clv_pipeline_static_features(get()); }
    std::string seq_feature_name(std::uint32_t i) const
    {
        return detail::string_at(clv_pipeline_seq_feature_name(get(), i), "pipeline::seq_feature_name");
    }
    std::string static_feature_name(std::uint32_t i) const
    {
        return detail::string_at(clv_pipeline_static_feature_name(get(), i),
                                 "pipeline::static_feature_name");
    }
};

/* ------------------------------------------------------------------ */
/* The forecaster, its predictions and explanations (forecast.h). */

/** Per-customer predictions; the arrays [customers()] are lent. */
class prediction : public handle<clv_prediction> {
public:
    explicit prediction(clv_prediction *owned) noexcept : handle(owned) {}

    std::uint64_t customers() const { return clv_prediction_customers(get()); }
    std::int32_t at_day() const { return clv_prediction_at_day(get()); }
    std::uint32_t horizon_days() const { return clv_prediction_horizon_days(get()); }
    const float *spend() const { return clv_prediction_spend(get()); }
    const float *transactions() const { return clv_prediction_transactions(get()); }
    const float *p_active() const { return clv_prediction_p_active(get()); }
    const float *spend_p10() const { return clv_prediction_spend_p10(get()); }
    const float *spend_p90() const { return clv_prediction_spend_p90(get()); }
    const std::int32_t *stages() const { return clv_prediction_stages(get()); }
    std::string customer_id(std::uint64_t i) const
    {
        return detail::string_at(clv_prediction_customer_id(get(), i), "prediction::customer_id");
    }
};

/** Integrated-gradient attributions [weeks()][inputs()], lent. */
class explanation : public handle<clv_explanation> {
public:
    explicit explanation(clv_explanation *owned) noexcept : handle(owned) {}

    std::uint32_t inputs() const { return clv_explanation_inputs(get()); }
    std::uint32_t weeks() const { return clv_explanation_weeks(get()); }
    std::string input_name(std::uint32_t k) const
    {
        return detail::string_at(clv_explanation_input_name(get(), k), "explanation::input_name");
    }
    const float *attributions() const { return clv_explanation_attributions(get()); }
    double value() const { return clv_explanation_value(get()); }
    double baseline() const { return clv_explanation_baseline(get()); }
};

class forecaster : public handle<clv_forecaster> {
public:
    forecaster() : forecaster(forecast_options()) {}
    explicit forecaster(const clv_forecast_options &opts) : handle(detail::create(opts)) {}
    explicit forecaster(clv_forecaster *owned) noexcept : handle(owned) {}

    static forecaster load(const std::string &path)
    {
        clv_forecaster *f = nullptr;
        check(clv_forecaster_load(&f, path.c_str()));
        return forecaster(f);
    }
    static forecaster load_buffer(const void *data, std::size_t size)
    {
        clv_forecaster *f = nullptr;
        check(clv_forecaster_load_buffer(&f, data, size));
        return forecaster(f);
    }
    static forecaster load_buffer(const std::vector<unsigned char> &bytes)
    {
        return load_buffer(bytes.data(), bytes.size());
    }

    clv_forecast_options options() const
    {
        clv_forecast_options o = forecast_options();
        check(clv_forecaster_get_options(get(), &o));
        return o;
    }
    /** A C callback after every epoch (nullptr removes it); it must not throw. */
    void set_callback(clv_fit_callback fn, void *user_data)
    {
        check(clv_forecaster_set_callback(get(), fn, user_data));
    }
    void fit(const txlog &log, std::int32_t cutoff_day)
    {
        check(clv_forecaster_fit(get(), log.get(), cutoff_day));
    }
    void set_threads(std::int32_t n) { check(clv_forecaster_set_threads(get(), n)); }
    std::int32_t threads() const { return clv_forecaster_threads(get()); }
    bool is_fitted() const { return clv_forecaster_is_fitted(get()) != 0; }
    std::int32_t fit_cutoff() const { return clv_forecaster_fit_cutoff(get()); }

    /** Over (at_day, at_day + horizon_days]; 0 = the fitted default horizon. */
    prediction predict(const txlog &log, std::int32_t at_day, std::uint32_t horizon_days = 0) const
    {
        clv_prediction *p = nullptr;
        check(clv_forecaster_predict(get(), log.get(), at_day, horizon_days, &p));
        return prediction(p);
    }
    explanation explain(const txlog &log, std::int32_t at_day, const std::string &customer_id) const
    {
        clv_explanation *e = nullptr;
        check(clv_forecaster_explain(get(), log.get(), at_day, customer_id.c_str(), &e));
        return explanation(e);
    }

    void save(const std::string &path) const { check(clv_forecaster_save(get(), path.c_str())); }
    /** The model file's bytes (copied out of the library's buffer). */
    std::vector<unsigned char> save_buffer() const
    {
        void *data = nullptr;
        std::size_t size = 0;
        check(clv_forecaster_save_buffer(get(), &data, &size));
        std::unique_ptr<void, void (*)(void *)> owned(data, clv_free);
        const unsigned char *bytes = static_cast<const unsigned char *>(data);
        return std::vector<unsigned char>(bytes, bytes + size);
    }
};

/* ------------------------------------------------------------------ */
/* Backtests (backtest.h). */

/** The scores of one backtest model (clv_backtest_scores). */
struct backtest_scores {
    clv_metrics spend;
    double tx_mae, tx_total_pct_error, auc, fit_seconds;
};

class backtest : public handle<clv_backtest> {
public:
    /** Fit every model at cutoff_day and score (cutoff_day, holdout_end_day]. */
    backtest(const txlog &log, std::int32_t cutoff_day, std::int32_t holdout_end_day,
             const clv_forecast_options *fopts = nullptr, clv_fit_callback cb = nullptr,
             void *user_data = nullptr)
        : handle(run(log.get(), cutoff_day, holdout_end_day, fopts, cb, user_data))
    {
    }
    explicit backtest(clv_backtest *owned) noexcept : handle(owned) {}

    std::uint64_t customers() const { return clv_backtest_customers(get()); }
    double actual_spend() const { return clv_backtest_actual_spend(get()); }
    double actual_transactions() const { return clv_backtest_actual_transactions(get()); }
    double actual_active() const { return clv_backtest_actual_active(get()); }
    std::uint32_t models() const { return clv_backtest_models(get()); }
    std::string model_name(std::uint32_t k) const
    {
        return detail::string_at(clv_backtest_model_name(get(), k), "backtest::model_name");
    }
    backtest_scores scores(std::uint32_t k) const
    {
        backtest_scores s;
        clv_metrics_init(&s.spend);
        check(clv_backtest_scores(get(), k, &s.spend, &s.tx_mae, &s.tx_total_pct_error, &s.auc,
                                  &s.fit_seconds));
        return s;
    }
    const float *pred_spend(std::uint32_t k) const { return clv_backtest_pred_spend(get(), k); }
    const float *pred_transactions(std::uint32_t k) const
    {
        return clv_backtest_pred_transactions(get(), k);
    }
    double interval_coverage(std::uint32_t k) const
    {
        double c = 0;
        check(clv_backtest_interval_coverage(get(), k, &c));
        return c;
    }
    const float *actual_spend_per_customer() const
    {
        return clv_backtest_actual_spend_per_customer(get());
    }

private:
    static clv_backtest *run(const clv_txlog *log, std::int32_t cutoff_day, std::int32_t holdout_end_day,
                             const clv_forecast_options *fopts, clv_fit_callback cb, void *user_data)
    {
        clv_backtest *b = nullptr;
        check(clv_backtest_run(log, cutoff_day, holdout_end_day, fopts, cb, user_data, &b));
        return b;
    }
};

} // namespace clv

#endif
