// A CMake project's use of libclv: find_package(clv), clv::clv, <clv/clv.hpp>.
#include <clv/clv.hpp>

#include <cstdio>
#include <vector>

int main()
{
    try {
        clv_model_options mo = clv::model_options();
        mo.input_size = 2;
        mo.hidden_size = 8;
        const clv::model m(mo);
        // Two customers, three weeks of (spend, visits); the second has two weeks.
        const std::vector<float> x = {1, 0, 2, 1, 0, 0,   3, 1, 1, 1, 0, 0};
        const std::vector<float> y = m.predict(2, 3, x, {3, 2});
        std::printf("libclv %s (headers %s): predictions %.4f %.4f\n", clv::version().c_str(),
                    CLV_VERSION_STRING, y[0], y[1]);
        clv_model_options bad = clv::model_options();
        clv::model refused(bad);  // input_size 0: throws
    } catch (const clv::error &e) {
        std::printf("clv::error %s: %s\n", clv::status_str(e.status()).c_str(), e.what());
        return 0;
    }
    return 1;
}
