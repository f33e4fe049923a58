"""Plain sequence models, optimizers and losses from Python."""

import numpy as np
import pytest

import clv


def _toy(seed=0, B=16, T=6, F=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F)).astype(np.float32)
    lengths = rng.integers(1, T + 1, size=B).astype(np.int32)
    y = x[np.arange(B), lengths - 1, :1] * 2.0 + 0.5       # a learnable target: last valid step
    return x, lengths, y.astype(np.float32)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_training_reduces_the_loss(cell):
    x, lengths, y = _toy()
    with clv.Model(input_size=3, hidden_size=16, cell=cell, seed=7) as m, clv.Adam(lr=0.02) as opt:
        first = m.train_step(opt, x, y, lengths=lengths)
        for _ in range(150):
            last = m.train_step(opt, x, y, lengths=lengths)
        assert last < 0.1 * first
        assert opt.step_count == 151 and opt.last_lr == pytest.approx(0.02)
        pred = m.predict(x, lengths)
        assert pred.shape == (16, 1) and pred.dtype == np.float32
        assert np.mean((pred - y) ** 2) == pytest.approx(clv.Loss("mse")(pred, y), rel=1e-5)


def test_padding_does_not_change_predictions():
    x, lengths, _ = _toy()
    m = clv.Model(input_size=3, hidden_size=8)
    a = m.predict(x, lengths)
    x2 = x.copy()
    for b, n in enumerate(lengths):
        x2[b, n:, :] = 1e3
    np.testing.assert_array_equal(a, m.predict(x2, lengths))


def test_save_load_round_trip(tmp_path):
    x, lengths, y = _toy()
    m = clv.Model(input_size=3, hidden_size=8, cell="gru", step_outputs=2)
    with clv.SGD(lr=0.1, momentum=0.9) as opt:
        m.train_step(opt, x, y, lengths=lengths)
    m.save(str(tmp_path / "m.npz"))
    m2 = clv.Model.load(str(tmp_path / "m.npz"))
    assert m2.options == m.options
    f1, s1 = m.predict(x, lengths)
    f2, s2 = m2.predict(x, lengths)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(s1, s2)
    assert s1.shape == (16, 6, 2)


def test_parameter_table():
    m = clv.Model(input_size=3, hidden_size=4)
    sd = m.state_dict()
    assert sd["lstm.0.w_ih"].shape == (16, 3)            # 4 gates x H rows, PyTorch layout
    assert sum(v.size for v in sd.values()) == m.param_count
    p = m.get_params()
    p[:] = 0
    m.set_params(p)
    assert not m.get_params().any()
    with pytest.raises(clv.InvalidArgument):
        m.set_params(np.full(m.param_count, np.nan, np.float32))


def test_backward_input_gradient_matches_finite_differences():
    x, lengths, _ = _toy(B=2, T=4, F=2)
    lengths[:] = 4
    m = clv.Model(input_size=2, hidden_size=5, seed=3)
    m.zero_grad()
    m.forward(x, lengths)
    dx, _ = m.backward(d_final=np.ones((2, 1), np.float32), input_grads=True)
    eps = 1e-2
    for idx in [(0, 0, 0), (1, 3, 1), (0, 2, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (m.predict(xp, lengths).sum() - m.predict(xm, lengths).sum()) / (2 * eps)
        assert dx[idx] == pytest.approx(num, rel=2e-2, abs=1e-3)


def test_optimizer_options_and_raw_step():
    with pytest.raises(TypeError, match="unknown optimizer option"):
        clv.Adam(learning_rate=0.1)
    with pytest.raises(clv.InvalidArgument) as e:
        clv.Adam(lr=-1.0)
    assert "lr" in str(e.value)
    opt = clv.SGD(lr=0.5)
    p = np.array([1.0, 2.0], np.float32)
    opt.step_raw(p, np.array([1.0, -1.0], np.float32))
    np.testing.assert_array_equal(p, [0.5, 2.5])          # p -= lr * g, in place
    with pytest.raises(clv.ShapeError):
        opt.step_raw(np.zeros(3, np.float32), np.zeros(3, np.float32))


def test_losses():
    pred = np.array([[0.0], [2.0]], np.float32)
    target = np.array([[1.0], [1.0]], np.float32)
    value, grad = clv.Loss("mae", reduction="sum")(pred, target, grad=True)
    assert value == 2.0
    np.testing.assert_array_equal(grad, [[-1.0], [1.0]])
    assert clv.Loss("ziln").target_dim(3) == 1
    with pytest.raises(clv.InvalidArgument):
        clv.Loss("ziln").target_dim(2)
