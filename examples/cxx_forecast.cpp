// cxx_forecast: fit the CLV forecaster from C++ and rank customers by the
// spend it predicts, with <clv/clv.hpp> (owning handles, clv::error).
//
// Introduces usage of: clv::txlog, clv::forecaster (fit, predict, save_buffer,
// load_buffer), clv::prediction, clv::simulate_truth, clv::metrics, clv::error.
//
//   cxx_forecast [CUSTOMERS [SEED]]      simulated log (default 500 customers,
//                                        seed 1), scored against the
//                                        simulator's expected spend
//   cxx_forecast ORDERS.csv CUTOFF       a real log, e.g. CDNOW_master.txt 1997-09-30
#include <clv/clv.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

static void print_top(const clv::prediction &p, std::size_t top)
{
    std::vector<std::size_t> order(static_cast<std::size_t>(p.customers()));
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return p.spend()[a] > p.spend()[b]; });
    std::printf("%-10s %10s %10s %10s %8s %s\n", "customer", "spend", "p10", "p90", "p_active",
                "stage");
    for (std::size_t k = 0; k < std::min(top, order.size()); k++) {
        const std::size_t i = order[k];
        std::printf("%-10s %10.2f %10.2f %10.2f %8.3f %s\n", p.customer_id(i).c_str(),
                    double(p.spend()[i]), double(p.spend_p10()[i]), double(p.spend_p90()[i]),
                    double(p.p_active()[i]), clv::stage_name(p.stages()[i]).c_str());
    }
}

static int run(int argc, char **argv)
{
    const bool simulated = argc < 2 || std::isdigit(static_cast<unsigned char>(argv[1][0]));
    clv::blas_set_num_threads(1);

    clv_sim_options so = clv::sim_options();
    clv::txlog log;
    std::int32_t cutoff;
    if (simulated) {
        so.customers = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 500;
        so.seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
        clv::simulate_to_txlog(so, log);
        cutoff = clv::date_parse("1997-09-30");
    } else {
        if (argc < 3)
            throw clv::error(CLV_EINVAL, "usage: cxx_forecast ORDERS.csv CUTOFF");
        log.read_csv(argv[1]);
        cutoff = clv::date_parse(argv[2]);
    }

    // Small and quick: one network, three passes (the defaults train longer).
    clv_forecast_options fo = clv::forecast_options();
    fo.hidden_size = 16;
    fo.epochs = 3;
    fo.ensemble = 1;
    fo.samples = 16;
    fo.horizon_days = 273;
    clv::forecaster f(fo);
    f.fit(log, cutoff);
    const clv::prediction p = f.predict(log, cutoff);
    const std::size_t n = static_cast<std::size_t>(p.customers());

    const float *spend = p.spend();
    const double total = std::accumulate(spend, spend + n, 0.0);
    std::printf("customers: %zu, fitted at %s, horizon %u days\n", n,
                clv::date_format(f.fit_cutoff()).c_str(), p.horizon_days());
    std::printf("predicted spend: %.2f\n", total);
    print_top(p, 5);

    if (simulated) {
        // The simulator knows each customer's expected spend over the horizon.
        const clv::sim_truth truth =
            clv::simulate_truth(so, cutoff, cutoff + static_cast<std::int32_t>(p.horizon_days()));
        std::vector<float> pred(n), expected(n);
        for (std::size_t i = 0; i < n; i++) {
            pred[i] = spend[i];
            expected[i] = truth.expected_spend[std::stoull(p.customer_id(i)) - 1];
        }
        const clv_metrics m = clv::metrics(pred, expected);
        std::printf("simulator's expected spend: %.2f (total error %+.1f%%)\n",
                    std::accumulate(expected.begin(), expected.end(), 0.0), m.total_pct_error);
        std::printf("normalised gini vs expected spend: %.3f\n", m.gini_norm);
    }

    // A model file in memory and back: the reloaded model predicts the same.
    const std::vector<unsigned char> bytes = f.save_buffer();
    const clv::forecaster g = clv::forecaster::load_buffer(bytes);
    const clv::prediction q = g.predict(log, cutoff);
    const bool same = q.customers() == n && std::equal(spend, spend + n, q.spend());
    std::printf("model file: %zu bytes; reloaded predictions identical: %s\n", bytes.size(),
                same ? "yes" : "no");
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    try {
        return run(argc, argv);
    } catch (const clv::error &e) {
        // status_str names the code ("CLV_EIO: ..."), what() is libclv's message.
        std::fprintf(stderr, "cxx_forecast: %s\n  %s\n", clv::status_str(e.status()).c_str(),
                     e.what());
        return 1;
    }
}
