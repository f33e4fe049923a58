// The C++ wrapper <clv/clv.hpp>: failed calls become clv::error with the
// library's status and message, handles are move-only and freed exactly once,
// and the std::vector overloads refuse wrong sizes before the library reads.
//
// The whole process runs on a tracking allocator (installed before any libclv
// object exists, as clv_set_allocator() requires) that records every live
// block: a leaked handle shows as a block still live after its scope, a
// double free as a free of a block that is not live.
#include <clv/clv.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

int failures = 0;

#define EXPECT(cond)                                                                  \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

// Runs `body`, which must throw clv::error with `status` and a message
// containing `needle`; returns the message.
template <typename F>
std::string expect_error(int line, int status, const char *needle, F body)
{
    try {
        body();
    } catch (const clv::error &e) {
        if (e.status() != status) {
            std::fprintf(stderr, "line %d: status %d (%s), expected %d\n", line, e.status(),
                         e.what(), status);
            failures++;
        }
        if (!std::strstr(e.what(), needle)) {
            std::fprintf(stderr, "line %d: message \"%s\" lacks \"%s\"\n", line, e.what(), needle);
            failures++;
        }
        return e.what();
    }
    std::fprintf(stderr, "line %d: no clv::error thrown\n", line);
    failures++;
    return std::string();
}
#define EXPECT_ERROR(status, needle, body) expect_error(__LINE__, status, needle, [&]() { body; })

// ---------------------------------------------------------------------------
// Tracking allocator

std::set<void *> *live;      // blocks allocated and not yet freed
int bad_frees;               // frees of blocks that were not live

void *track_alloc(std::size_t n, void *)
{
    void *p = std::malloc(n);
    if (p) live->insert(p);
    return p;
}

void track_free(void *p, void *)
{
    if (!p) return;
    if (live->erase(p) == 0) {
        bad_frees++;  // a double free: do not hand it to free() and crash
        return;
    }
    std::free(p);
}

// ---------------------------------------------------------------------------

template <typename T>
void static_checks()
{
    static_assert(!std::is_copy_constructible<T>::value, "handles are not copyable");
    static_assert(!std::is_copy_assignable<T>::value, "handles are not copyable");
    static_assert(std::is_nothrow_move_constructible<T>::value, "handles move without throwing");
    static_assert(std::is_nothrow_move_assignable<T>::value, "handles move without throwing");
}

clv_model_options small_model()
{
    clv_model_options mo = clv::model_options();
    mo.input_size = 3;
    mo.hidden_size = 8;
    return mo;
}

void errors_carry_status_and_message()
{
    clv_model_options bad = clv::model_options();  // input_size 0: has no default
    const std::string msg = EXPECT_ERROR(CLV_EINVAL, "input_size", clv::model m(bad));
    // The message is the C library's, word for word.
    clv_model *raw = nullptr;
    EXPECT(clv_model_new(&raw, &bad) == CLV_EINVAL);
    EXPECT(raw == nullptr);
    EXPECT(msg == clv_last_error());

    EXPECT_ERROR(CLV_EFORMAT, "", clv::date_parse("1997-13-45"));
    EXPECT(clv::date_format(clv::date_parse("1997-09-30")) == "1997-09-30");
    EXPECT(clv::date_parse("19970930") == clv::date_parse("1997-09-30"));

    clv::txlog log;
    EXPECT_ERROR(CLV_EIO, "/nonexistent/orders.csv", log.read_csv("/nonexistent/orders.csv"));
    EXPECT_ERROR(CLV_EFORMAT, "model", clv::forecaster::load_buffer(std::vector<unsigned char>(64, 7)));

    clv::forecaster unfitted;
    EXPECT(!unfitted.is_fitted());
    EXPECT_ERROR(CLV_ESTATE, "", unfitted.predict(log, clv::date_parse("1997-09-30")));

    // A clv::error is a std::runtime_error, so generic handlers see it too.
    try {
        clv_optim_options o = clv::optim_options();
        o.lr = -1;
        clv::optim opt(o);
        failures++;
    } catch (const std::exception &e) {
        EXPECT(std::strstr(e.what(), "lr") != nullptr);
    }
}

void moves_transfer_ownership()
{
    const std::size_t base = live->size();
    {
        clv::model a(small_model());
        clv_model *p = a.get();
        EXPECT(a && p != nullptr);
        const std::size_t with_one = live->size();

        clv::model b(std::move(a));
        EXPECT(!a && a.get() == nullptr);
        EXPECT(b.get() == p);
        EXPECT(live->size() == with_one);  // a move allocates and frees nothing

        clv_model_options other = small_model();
        other.hidden_size = 4;
        clv::model c(other);
        EXPECT(live->size() > with_one);
        c = std::move(b);                  // c's own model is freed here
        EXPECT(c.get() == p && !b);
        EXPECT(live->size() == with_one);
        EXPECT(c.options().hidden_size == 8);

        // Using an empty handle fails as the C call does on NULL.
        EXPECT_ERROR(CLV_EINVAL, "", b.options());
        EXPECT(b.param_count() == 0);

        // release() hands the handle back to C.
        clv_model *raw = c.release();
        EXPECT(!c && raw == p);
        EXPECT(live->size() == with_one);
        clv_model_free(raw);
        EXPECT(live->size() == base);

        // Every other handle type moves the same way.
        clv::txlog l1;
        clv::txlog l2(std::move(l1));
        EXPECT(!l1 && l2);
        clv::forecaster f1;
        clv::forecaster f2;
        f2 = std::move(f1);
        EXPECT(!f1 && f2);
        clv::workspace w1;
        clv::workspace w2(std::move(w1));
        EXPECT(!w1 && w2);
    }
    EXPECT(live->size() == base);
}

void vectors_are_checked_against_shapes()
{
    const std::size_t base = live->size();
    {
        const std::uint32_t B = 2, T = 4, F = 3;
        clv::model m(small_model());
        std::vector<float> x(B * T * F);
        for (std::size_t i = 0; i < x.size(); i++)
            x[i] = float(int(i % 5) - 2) / 4.0f;
        const std::vector<std::int32_t> lengths = {4, 2};

        const std::size_t before = live->size();
        std::vector<float> short_x(x.begin(), x.end() - 1);
        EXPECT_ERROR(CLV_ESHAPE, "x has 23 elements, the shape needs 24", m.predict(B, T, short_x));
        EXPECT_ERROR(CLV_ESHAPE, "lengths", m.predict(B, T, x, std::vector<std::int32_t>{4}));
        EXPECT(live->size() == before);  // refused before the library ran

        // The wrapper returns what the C call computes, bit for bit.
        clv::workspace ws;
        ws.reserve(m, B, T);
        const std::vector<float> y = m.predict(B, T, x, lengths, std::vector<float>(), &ws);
        float c_out[B];
        EXPECT(clv_model_predict(m.get(), nullptr, B, T, x.data(), lengths.data(), nullptr, c_out,
                                 nullptr) == CLV_OK);
        EXPECT(y.size() == B);
        EXPECT(std::memcmp(y.data(), c_out, sizeof c_out) == 0);

        // Training through the wrapper lowers the loss on a fixed batch.
        clv_optim_options ao = clv::optim_options(CLV_OPTIM_ADAM);
        ao.lr = 1e-2f;
        clv::optim opt(ao);
        const clv_loss_options lo = clv::loss_options();
        const std::vector<float> target = {1.5f, -0.5f};
        EXPECT_ERROR(CLV_ESHAPE, "target", m.train_step(opt, lo, B, T, x, std::vector<float>{1.0f}));
        const double first = m.train_step(opt, lo, B, T, x, target, lengths);
        double last = first;
        for (int i = 0; i < 200; i++)
            last = m.train_step(opt, lo, B, T, x, target, lengths);
        EXPECT(opt.step_count() == 201);
        std::printf("train_step loss %g -> %g\n", first, last);
        EXPECT(std::isfinite(last) && last < 0.1 * first);
        EXPECT(m.params().size() == m.param_count() && m.grads().size() == m.param_count());

        // step_raw on a plain buffer: SGD, p -= lr * g.
        clv_optim_options so = clv::optim_options(CLV_OPTIM_SGD);
        so.lr = 0.5f;
        clv::optim sgd(so);
        std::vector<float> p = {1.0f, 2.0f};
        sgd.step_raw(p, std::vector<float>{1.0f, -2.0f});
        EXPECT(p[0] == 0.5f && p[1] == 3.0f);
        EXPECT_ERROR(CLV_ESHAPE, "grads", sgd.step_raw(p, std::vector<float>{1.0f}));
    }
    EXPECT(live->size() == base);
}

void logs_pipelines_and_datasets()
{
    const std::size_t base = live->size();
    {
        clv::txlog log;
        const std::int32_t d0 = clv::date_parse("1997-01-01");
        clv_txlog_report r = log.append(std::vector<std::string>{"a", "b", "a"},
                                        std::vector<std::int32_t>{d0, d0 + 3, d0 + 20},
                                        std::vector<float>{10.0f, 25.5f, 7.25f});
        EXPECT(r.rows_used == 3);
        r = log.append(std::vector<std::uint64_t>{42}, std::vector<std::int32_t>{d0 + 5},
                       std::vector<float>{3.0f});
        EXPECT(log.report().customers == 3 && log.report().customer_days == 4);
        EXPECT_ERROR(CLV_ESHAPE, "amounts",
                     log.append(std::vector<std::uint64_t>{1, 2}, std::vector<std::int32_t>{d0, d0},
                                std::vector<float>{1.0f}));
        log.read_csv_buffer("customer_id,date,amount\n42,1997-01-30,8.00\n", "extra.csv");
        EXPECT(log.report().customers == 3 && log.report().customer_days == 5);

        clv::pipeline p;
        EXPECT(!p.is_fitted());
        p.fit(log, d0 + 40);
        EXPECT(p.is_fitted() && p.seq_features() > 0);
        EXPECT(!p.seq_feature_name(0).empty());
        clv::dataset ds = p.transform(log, d0 + 40, d0 + 40);
        EXPECT(ds.customers() == 3);
        EXPECT(ds.steps() > 0 && ds.sequences() != nullptr && ds.lengths() != nullptr);
        std::set<std::string> ids;
        for (std::uint64_t i = 0; i < ds.customers(); i++)
            ids.insert(ds.customer_id(i));
        EXPECT((ids == std::set<std::string>{"a", "b", "42"}));
        EXPECT_ERROR(CLV_EINVAL, "out of range", ds.customer_id(3));
        float spend_a = 0;
        for (std::uint64_t i = 0; i < ds.customers(); i++)
            if (ds.customer_id(i) == "a") spend_a = ds.calibration_spend()[i];
        EXPECT(spend_a == 17.25f);
    }
    EXPECT(live->size() == base);
}

// The forecaster's family on a small simulated log: a tiny fit (one network,
// one pass) is enough to exercise the wrapper, not to forecast well.
void forecaster_explanation_and_backtest()
{
    const std::size_t base = live->size();
    {
        clv_sim_options so = clv::sim_options();
        so.customers = 200;
        so.seed = 3;
        clv::txlog log;
        clv::simulate_to_txlog(so, log);
        const std::int32_t cutoff = clv::date_parse("1997-09-30");
        const std::int32_t end = clv::date_parse("1998-06-30");

        clv_forecast_options fo = clv::forecast_options();
        fo.hidden_size = 8;
        fo.epochs = 1;
        fo.ensemble = 1;
        fo.samples = 4;
        clv::forecaster f(fo);
        f.fit(log, cutoff);
        EXPECT(f.is_fitted() && f.fit_cutoff() == cutoff);
        EXPECT(f.options().hidden_size == 8);
        const clv::prediction p = f.predict(log, cutoff, 91);
        EXPECT(p.customers() == 200 && p.horizon_days() == 91 && p.at_day() == cutoff);
        EXPECT_ERROR(CLV_EINVAL, "out of range", p.customer_id(200));

        // Integrated gradients add up to value - baseline (docs: up to a small
        // quadrature error).
        const clv::explanation e = f.explain(log, cutoff, p.customer_id(0));
        double sum = 0;
        for (std::uint32_t i = 0; i < e.weeks() * e.inputs(); i++)
            sum += double(e.attributions()[i]);
        EXPECT(e.inputs() > 0 && e.weeks() > 0 && !e.input_name(0).empty());
        EXPECT(std::fabs(sum - (e.value() - e.baseline())) <= 0.05 * std::fabs(e.value() - e.baseline()) + 1e-3);
        EXPECT_ERROR(CLV_EINVAL, "nobody", f.explain(log, cutoff, "nobody"));

        clv::backtest bt(log, cutoff, end, &fo);
        EXPECT(bt.customers() == 200 && bt.models() >= 4);
        EXPECT(bt.model_name(0) == "lstm" && bt.model_name(1) == "bgnbd_gg");
        const clv::backtest_scores s = bt.scores(1);
        EXPECT(std::isfinite(s.spend.rmse) && s.auc > 0.5 && s.auc <= 1);
        const double cov = bt.interval_coverage(0);
        EXPECT(cov >= 0 && cov <= 1);
        EXPECT_ERROR(CLV_EINVAL, "", bt.scores(bt.models()));
        EXPECT_ERROR(CLV_EINVAL, "", clv::backtest(log, cutoff, cutoff - 1, &fo));
    }
    EXPECT(live->size() == base);
}

void metrics_through_vectors()
{
    const clv_metrics m = clv::metrics({1, 2, 3}, {1, 2, 4});
    EXPECT(std::fabs(m.mae - 1.0 / 3) < 1e-12);
    EXPECT(std::fabs(m.total_pct_error - 100.0 * (6 - 7) / 7) < 1e-9);
    EXPECT(clv::metric_auc({0.1f, 0.9f, 0.4f}, {0, 1, 0}) == 1.0);
    EXPECT_ERROR(CLV_ESHAPE, "actual", clv::metrics({1, 2}, {1}));
    EXPECT_ERROR(CLV_EINVAL, "", clv::metrics({1, NAN}, {1, 2}));
}

} // namespace

int main()
{
    static_checks<clv::model>();
    static_checks<clv::workspace>();
    static_checks<clv::optim>();
    static_checks<clv::txlog>();
    static_checks<clv::pipeline>();
    static_checks<clv::dataset>();
    static_checks<clv::forecaster>();
    static_checks<clv::prediction>();
    static_checks<clv::explanation>();
    static_checks<clv::backtest>();

    std::set<void *> blocks;
    live = &blocks;
    clv_allocator a;
    a.struct_size = sizeof a;
    a.alloc = track_alloc;
    a.free = track_free;
    a.user_data = nullptr;
    if (clv_set_allocator(&a) != CLV_OK) {
        std::fprintf(stderr, "clv_set_allocator: %s\n", clv_last_error());
        return 1;
    }
    if (clv_blas_set_num_threads(1) != CLV_OK) return 1;

    errors_carry_status_and_message();
    moves_transfer_ownership();
    vectors_are_checked_against_shapes();
    logs_pipelines_and_datasets();
    forecaster_explanation_and_backtest();
    metrics_through_vectors();

    EXPECT(bad_frees == 0);
    std::printf("libclv %s from C++: %d failure(s), %zu block(s) live at exit, %d bad free(s)\n",
                clv::version().c_str(), failures, blocks.size(), bad_frees);
    return failures == 0 ? 0 : 1;
}
