/**
 * @file forecast.h
 * @brief The CLV forecaster: a feature pipeline and a per-period sequence
 *        model, trained honestly from data up to a cutoff, predicting each
 *        customer's spend, transactions and activity over any horizon.
 *
 * Model (in the style of Valendin et al. 2022, "Customer base analysis with
 * recurrent neural networks"): each customer's history is a weekly sequence
 * from the first purchase to the cutoff. At every week the network reads
 * causal inputs (that week's transactions and spend, running totals, mean
 * spend per transaction so far, weeks since the last purchase, customer age,
 * first purchase amount, the week of year when the data spans two years or
 * more so that season can be told apart from customer age, and the
 * posteriors of BG/NBD and Gamma-Gamma fitted on the same calibration data:
 * P(active), the posterior purchase rate and the shrunken mean value) and
 * predicts the distribution of next week's transactions (classes 0, 1, 2,
 * 3+) and the log spend of a purchasing week. The classic models also
 * enter as offsets of those outputs (see docs/accuracy.md), so the network
 * learns corrections to them. Training uses every week of the calibration
 * window as an example, so nothing after the cutoff is ever read; with
 * epochs = 0 an early-stopping run holds out the last `valid_weeks` weeks to
 * choose the number of passes, then the model is trained on every week. A
 * prediction rolls the network forward week by week over the horizon along
 * `samples` Monte Carlo paths per customer (seeded): expected transactions
 * and spend add up each week's conditional expectation along the paths,
 * P(active) comes from the path without purchases (exact, no sampling), and
 * the quantiles of the sampled path totals give prediction intervals.
 *
 * Threading: fit is single-writer; predict takes a const forecaster and may
 * run concurrently from several threads.
 */
#ifndef CLV_FORECAST_H
#define CLV_FORECAST_H

#include "common.h"
#include "pipeline.h"

CLV_BEGIN_DECLS

/** A forecaster: the feature pipeline plus an ensemble of weekly sequence models. */
typedef struct clv_forecaster clv_forecaster;
/** Per-customer predictions of clv_forecaster_predict(). */
typedef struct clv_prediction clv_prediction;

/** Forecaster configuration; fill with clv_forecast_options_init(). */
typedef struct clv_forecast_options {
    uint32_t struct_size;    /**< set by clv_forecast_options_init() */
    int32_t cell;            /**< CLV_CELL_LSTM (default) or CLV_CELL_GRU */
    uint32_t hidden_size;    /**< default 32 */
    uint32_t num_layers;     /**< default 1 */
    uint32_t epochs;         /**< passes over the data; 0 (default) = auto: early stopping on the temporal split */
    uint32_t batch_size;     /**< sequences per step (default 128) */
    float lr;                /**< Adam learning rate (default 3e-3) */
    float weight_decay;      /**< AdamW decoupled decay (default 1e-4) */
    uint32_t max_steps;      /**< history window in weeks (default 104) */
    uint32_t samples;        /**< Monte Carlo paths per customer (default 32) */
    uint32_t horizon_days;   /**< default horizon of predictions (default 273 = 39 weeks) */
    uint64_t seed;           /**< initialisation, shuffling and sampling (default 1) */
    uint32_t valid_weeks;    /**< auto epochs: weeks before the cutoff held out for early stopping (default 4; 0 = none) */
    uint32_t max_epochs;     /**< auto epochs: most passes of the early-stopping run (default 60) */
    uint32_t ensemble;       /**< networks trained with seeds seed, seed+1, ... and averaged (default 3; 1..16) */
    uint32_t threads;        /**< prediction threads, as clv_forecaster_set_threads() (default 1; 1..64; not saved) */
    float dropout;           /**< rate of dropout on the recurrent layers' outputs in training
                              *   (clv_model_options::dropout), 0 <= p < 1 (default 0 = off;
                              *   docs/accuracy.md has the measurements) */
} clv_forecast_options;

/** Progress of fit, passed to the callback after every epoch. */
typedef struct clv_fit_progress {
    uint32_t struct_size;    /**< sizeof(clv_fit_progress) of the library that filled it */
    uint32_t epoch, epochs;
    double train_loss;       /**< mean loss per training week this epoch */
    double elapsed_seconds, eta_seconds;
    double valid_loss;       /**< mean loss per held-out week (early-stopping run), NAN otherwise */
} clv_fit_progress;
/** @var clv_fit_progress::epoch
 *  This epoch, 1-based.
 *  @var clv_fit_progress::epochs
 *  Epochs planned (max_epochs while early stopping decides).
 *  @var clv_fit_progress::elapsed_seconds
 *  Wall time since the fit started.
 *  @var clv_fit_progress::eta_seconds
 *  Estimated wall time left. */

/** Return non-zero to stop fitting (fit then returns CLV_ECANCELED). */
typedef int (*clv_fit_callback)(const clv_fit_progress *progress, void *user_data);

/** Set `struct_size` and every default (see the field comments). NULL is ignored. */
CLV_API void clv_forecast_options_init(clv_forecast_options *opts);
/**
 * Create an unfitted forecaster.
 * @param out   receives it; free it with clv_forecaster_free().
 * @param opts  configuration, or NULL for the defaults.
 * @return CLV_OK, CLV_EINVAL (the message names the bad option), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_forecaster_new(clv_forecaster **out, const clv_forecast_options *opts);
/** Free a forecaster. NULL is a no-op. */
CLV_API void clv_forecaster_free(clv_forecaster *f);
/** Copy the configuration (up to out->struct_size; init it first). */
CLV_API CLV_NODISCARD int clv_forecaster_get_options(const clv_forecaster *f, clv_forecast_options *out);
/** Called after every epoch of clv_forecaster_fit(); NULL removes it. */
CLV_API CLV_NODISCARD int clv_forecaster_set_callback(clv_forecaster *f, clv_fit_callback fn, void *user_data);

/**
 * Fit on `log` up to `cutoff_day` (inclusive); nothing dated later is read.
 * @return CLV_OK, CLV_EINVAL, CLV_ESTATE (no customer before the cutoff, or
 *         too little history to learn from), CLV_ENUMERIC (training diverged;
 *         the message says at which epoch), CLV_ECANCELED, CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_forecaster_fit(clv_forecaster *f, const clv_txlog *log, int32_t cutoff_day);
/**
 * Threads for clv_forecaster_predict(): its customers are split over n
 * threads, started and joined inside each call. A runtime setting (default
 * 1, never saved); predictions are bit-identical for every n. Keep OpenBLAS
 * at 1 thread when n > 1 (docs/threading.md).
 * @return CLV_OK or CLV_EINVAL (NULL, n outside 1..64).
 */
CLV_API CLV_NODISCARD int clv_forecaster_set_threads(clv_forecaster *f, int32_t n);
/** @return the prediction thread count (0 for NULL). */
CLV_API int32_t clv_forecaster_threads(const clv_forecaster *f);
/** Non-zero once fitted (or loaded). */
CLV_API int32_t clv_forecaster_is_fitted(const clv_forecaster *f);
/** The cutoff the forecaster was fitted at. */
CLV_API int32_t clv_forecaster_fit_cutoff(const clv_forecaster *f);

/**
 * Predict for every customer of `log` with a purchase on or before `at_day`,
 * over (at_day, at_day + horizon_days]. horizon_days = 0 uses the fitted default.
 * @return CLV_OK, CLV_ESTATE (not fitted), CLV_EINVAL, CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_forecaster_predict(const clv_forecaster *f, const clv_txlog *log,
                                                 int32_t at_day, uint32_t horizon_days,
                                                 clv_prediction **out);

/** Save to a file atomically (temporary file, flush, rename): a failure never
 *  leaves a partial file, and readers of `path` see the old or the new model. */
CLV_API CLV_NODISCARD int clv_forecaster_save(const clv_forecaster *f, const char *path);
/** Save to memory: *out receives a buffer of *size bytes, to free with clv_free(). */
CLV_API CLV_NODISCARD int clv_forecaster_save_buffer(const clv_forecaster *f, void **out, size_t *size);
/** Load from a file; CLV_EFORMAT (with what is wrong) for anything but a valid model file. */
CLV_API CLV_NODISCARD int clv_forecaster_load(clv_forecaster **out, const char *path);
/** Load from `size` bytes of memory, as clv_forecaster_load(). */
CLV_API CLV_NODISCARD int clv_forecaster_load_buffer(clv_forecaster **out, const void *data, size_t size);

/* ------------------------------------------------------------------ */
/** @name Predictions: arrays of N entries, borrowed until clv_prediction_free() */

/** Free predictions. NULL is a no-op. */
CLV_API void clv_prediction_free(clv_prediction *p);
/** Number of customers N (0 for NULL). */
CLV_API uint64_t clv_prediction_customers(const clv_prediction *p);
/** The day predicted from (days since 1970-01-01). */
CLV_API int32_t clv_prediction_at_day(const clv_prediction *p);
/** The horizon in days: predictions cover (at_day, at_day + horizon_days]. */
CLV_API uint32_t clv_prediction_horizon_days(const clv_prediction *p);
/** Expected spend over the horizon. */
CLV_API const float *clv_prediction_spend(const clv_prediction *p);
/** Expected number of transactions (purchase days) over the horizon. */
CLV_API const float *clv_prediction_transactions(const clv_prediction *p);
/** Probability of at least one purchase over the horizon. */
CLV_API const float *clv_prediction_p_active(const clv_prediction *p);
/** 10% quantile of the spend over the Monte Carlo paths (lower end of an 80% interval). */
CLV_API const float *clv_prediction_spend_p10(const clv_prediction *p);
/** 90% quantile of the spend over the Monte Carlo paths (upper end of the 80% interval). */
CLV_API const float *clv_prediction_spend_p90(const clv_prediction *p);
/** Lifecycle stage at at_day (clv_stage). */
CLV_API const int32_t *clv_prediction_stages(const clv_prediction *p);
/** Customer id of entry i (NUL-terminated, borrowed), or NULL when out of range. */
CLV_API const char *clv_prediction_customer_id(const clv_prediction *p, uint64_t i);
/**
 * Expected transactions of all customers together in each week of the
 * horizon ([*weeks] = ceil(horizon_days / 7); week w covers days
 * (at_day + 7w, at_day + 7w + 7], the last one possibly partial). They add up
 * to the sum of clv_prediction_transactions(); the weekly roll-out of the
 * sequence model, for tracking plots. weeks may be NULL.
 */
CLV_API const float *clv_prediction_weekly_transactions(const clv_prediction *p, uint32_t *weeks);

/* ------------------------------------------------------------------ */
/** @name Explanations: why a customer scores high */

/** One customer's integrated-gradient attributions (clv_forecaster_explain()). */
typedef struct clv_explanation clv_explanation;

/**
 * Attribute one customer's predicted spend to its weekly inputs with
 * integrated gradients: the explained quantity is the expected spend of the
 * first week after `at_day` (where every roll-out path starts; the later
 * weeks go through sampled purchases), averaged over the ensemble; the
 * baseline is the average training week (all normalised inputs 0). The
 * attributions add up to value - baseline (up to a small quadrature error).
 * Inputs are those of the forecaster (docs/accuracy.md), named by
 * clv_explanation_input_name(); the last week is the week of `at_day`.
 * @return CLV_OK, CLV_ESTATE (not fitted), CLV_EINVAL (NULL, or the customer
 *         has no purchase on or before at_day: the message names it),
 *         CLV_ENUMERIC (the prediction is not finite), CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_forecaster_explain(const clv_forecaster *f, const clv_txlog *log, int32_t at_day,
                                                 const char *customer_id, clv_explanation **out);
/** Free an explanation. NULL is a no-op. */
CLV_API void clv_explanation_free(clv_explanation *e);
/** Number of inputs per week (12). */
CLV_API uint32_t clv_explanation_inputs(const clv_explanation *e);
/** Number of weeks of history explained. */
CLV_API uint32_t clv_explanation_weeks(const clv_explanation *e);
/** Input k's name ("transactions", "log_bgnbd_rate", ...; static string), NULL out of range. */
CLV_API const char *clv_explanation_input_name(const clv_explanation *e, uint32_t k);
/** [weeks][inputs] attributions in dollars of first-week expected spend, oldest week first. */
CLV_API const float *clv_explanation_attributions(const clv_explanation *e);
/** The explained prediction: the first week's expected spend. */
CLV_API double clv_explanation_value(const clv_explanation *e);
/** The baseline's prediction (all normalised inputs 0). */
CLV_API double clv_explanation_baseline(const clv_explanation *e);

/* ------------------------------------------------------------------ */
/** @name Data-parallel fit: a communicator hook (docs/scale-out.md)
 *
 * libclv does not depend on MPI: the caller installs a clv_comm whose
 * callbacks do the collective operations with whatever transport it has
 * (MPI, NCCL, a thread barrier). Every rank calls clv_forecaster_fit() with
 * the same options and cutoff on its own part of the customers (each
 * customer on exactly one rank, e.g. by clv_txlog_options.shard_count).
 * Customers are ordered by id over all ranks, the shuffled batches are drawn
 * from that global order, each rank adds up the gradients of its customers
 * in every global batch and the sums are all-reduced before each optimizer
 * step; every statistic fitted from data is reduced likewise. All ranks end
 * with the same forecaster, equal to a single-process fit on all customers
 * up to floating-point summation order (docs/scale-out.md gives the
 * measured tolerance). */

/** Element types of clv_comm.allreduce. */
typedef enum clv_comm_type {
    CLV_COMM_FLOAT32 = 0,    /**< float */
    CLV_COMM_FLOAT64 = 1     /**< double */
} clv_comm_type;
/** Reductions of clv_comm.allreduce. */
typedef enum clv_comm_op {
    CLV_COMM_SUM = 0,        /**< element-wise sum over ranks */
    CLV_COMM_MAX = 1         /**< element-wise maximum over ranks */
} clv_comm_op;

/**
 * A communicator; fill with clv_comm_init(), then set rank, size, ctx and
 * the callbacks. Callbacks return 0 on success; any other value makes the
 * fit fail with CLV_EIO. Every rank must make the same sequence of calls
 * (they are collective); the result of allreduce must be bit-identical on
 * every rank (MPI_Allreduce and NCCL's all-reduce are, in practice; the fit
 * also broadcasts rank 0's trained networks at the end as a safeguard).
 */
typedef struct clv_comm {
    uint32_t struct_size;    /**< set by clv_comm_init() */
    int32_t rank;            /**< this process, 0 .. size - 1 */
    int32_t size;            /**< number of ranks, >= 1 */
    void *ctx;               /**< passed to every callback */
    /** In place: `count` elements of `type` at buf become their reduction over all ranks. */
    int (*allreduce)(void *ctx, void *buf, uint64_t count, int32_t type, int32_t op);
    /** In place: `bytes` bytes at buf become root's on every rank. */
    int (*broadcast)(void *ctx, void *buf, uint64_t bytes, int32_t root);
} clv_comm;

/** Set `struct_size`, a single-process rank 0 of size 1 and NULL callbacks. NULL is ignored. */
CLV_API void clv_comm_init(clv_comm *comm);
/**
 * Fit data-parallel over `comm` (copied; NULL = single process, the
 * default). Not saved with the model. The progress callback is called on
 * every rank with the global losses; a non-zero return on any rank stops
 * every rank (CLV_ECANCELED).
 * @return CLV_OK or CLV_EINVAL (size < 1, rank out of range, a callback missing).
 */
CLV_API CLV_NODISCARD int clv_forecaster_set_comm(clv_forecaster *f, const clv_comm *comm);
/**
 * Checkpoint training to `path` (copied; NULL = none) after every epoch:
 * rank 0 (or the single process) writes the networks, optimizer state,
 * epoch and RNG state atomically. A fit that finds a checkpoint there
 * written for the same options, cutoff and customers resumes from it; one
 * written for others fails with CLV_ESTATE. The file stays after the fit.
 * @return CLV_OK, CLV_EINVAL, CLV_ENOMEM.
 */
CLV_API CLV_NODISCARD int clv_forecaster_set_checkpoint(clv_forecaster *f, const char *path);
/** The epoch the last fit resumed from (0 = it started afresh); for logs and tests. */
CLV_API uint32_t clv_forecaster_resumed_epoch(const clv_forecaster *f);

CLV_END_DECLS

#endif
