"""BG/NBD, Pareto/NBD and Gamma-Gamma from Python, on a simulated log."""

import numpy as np
import pytest

import clv


@pytest.fixture(scope="module")
def rfm():
    log = clv.simulate(customers=2000, seed=11)
    with clv.Pipeline() as p:
        ds = p.fit_transform(log, "1997-09-30")
        return clv.summaries(ds)           # x, t_x, T in weeks, m_x


def test_bgnbd_is_a_maximum(rfm):
    x, t_x, T, _ = rfm
    m = clv.BGNBD().fit(x, t_x, T)
    assert m.loglik == pytest.approx(m.log_likelihood(x, t_x, T))
    # The simulator's own parameters (simulate.h defaults) fit no better than the estimate.
    truth = clv.BGNBD(params=[0.243, 4.414, 0.793, 2.426])
    assert m.loglik >= truth.log_likelihood(x, t_x, T)
    r, alpha, a, b = m.params
    assert 0.1 < r < 0.5 and 2 < alpha < 9          # near the generating r = 0.243, alpha = 4.414
    tx, alive = m.predict(x, t_x, T, 39)
    assert tx.shape == x.shape and (tx >= 0).all() and ((alive >= 0) & (alive <= 1)).all()
    assert alive[x == 0].min() == 1.0                # BG/NBD: no repeat, never dropped out


def test_paretonbd(rfm):
    x, t_x, T, _ = rfm
    m = clv.ParetoNBD().fit(x, t_x, T)
    assert m.loglik >= clv.BGNBD().fit(x, t_x, T).loglik - 50   # comparable fits
    tx, alive = m.predict(x, t_x, T, 39)
    assert np.isfinite(tx).all() and ((alive > 0) & (alive <= 1)).all()
    assert "ParetoNBD r=" in repr(m)


def test_gammagamma_expectation_formula(rfm):
    x, _, _, m_x = rfm
    gg = clv.GammaGamma().fit(x, m_x)
    p, q, g = gg.params
    expected = p * (g + x * m_x.astype(np.float64)) / (p * x + q - 1)
    np.testing.assert_allclose(gg.expected_value(x, m_x), expected, rtol=1e-5)


def test_unfitted_and_bad_input():
    with pytest.raises(RuntimeError, match="not fitted"):
        clv.BGNBD().predict([1], [1], [2], 10)
    with pytest.raises(clv.InvalidArgument) as e:
        clv.BGNBD().fit([1.0], [3.0], [2.0])         # t_x > T
    assert "t_x" in str(e.value)
    assert clv.hyp2f1(1, 1, 2, 0.5) == pytest.approx(2 * np.log(2))   # -ln(1-z)/z
