package clv

/*
#include <clv/clv.h>
*/
import "C"

// BTYDOptions configures the maximum-likelihood fits of the classic models.
type BTYDOptions struct {
	MaxIterations uint32  // Nelder-Mead iterations over all restarts
	Tolerance     float64 // relative convergence tolerance, (0, 1e-2]
	Penalty       float64 // L2 penalty on the log-parameters; 0 = plain maximum likelihood
}

// DefaultBTYDOptions returns libclv's defaults.
func DefaultBTYDOptions() BTYDOptions {
	var c C.clv_btyd_options
	C.clv_btyd_options_init(&c)
	return BTYDOptions{MaxIterations: uint32(c.max_iterations), Tolerance: float64(c.tolerance), Penalty: float64(c.penalty)}
}

func btydOptionsC(o *BTYDOptions) *C.clv_btyd_options {
	if o == nil {
		return nil
	}
	var c C.clv_btyd_options
	C.clv_btyd_options_init(&c)
	c.max_iterations, c.tolerance, c.penalty = C.uint32_t(o.MaxIterations), C.double(o.Tolerance), C.double(o.Penalty)
	return &c
}

// RFM holds the per-customer summaries of the classic models, one entry per
// customer (docs/baselines.md): X repeat transactions, TX the time of the
// last purchase and T the age, both from the first purchase, in any time
// unit (weeks in the literature); M the mean repeat-transaction value
// (Gamma-Gamma only).
type RFM struct {
	X, TX, T, M []float32
}

// FromDataset returns a dataset's summaries with time in weeks (days / 7).
func RFMFromDataset(d *Dataset) RFM {
	r := RFM{X: d.Frequency(), TX: d.RecencyDays(), T: d.AgeDays(), M: d.MonetaryRepeat()}
	for i := range r.TX {
		r.TX[i] /= 7
		r.T[i] /= 7
	}
	return r
}

func (r *RFM) n(needM bool) (int, error) {
	n := len(r.X)
	if n == 0 {
		return 0, errorf(ErrInvalid, "no customers")
	}
	if needM {
		if len(r.M) != n {
			return 0, errorf(ErrShape, "x has %d entries, m %d", n, len(r.M))
		}
	} else if len(r.TX) != n || len(r.T) != n {
		return 0, errorf(ErrShape, "x, t_x and T have %d, %d and %d entries", n, len(r.TX), len(r.T))
	}
	return n, nil
}

// BGNBD holds the BG/NBD parameters (Fader, Hardie & Lee 2005).
type BGNBD struct{ R, Alpha, A, B float64 }

// ParetoNBD holds the Pareto/NBD parameters (Schmittlein et al. 1987).
type ParetoNBD struct{ R, Alpha, S, Beta float64 }

// GammaGamma holds the Gamma-Gamma spend parameters.
type GammaGamma struct{ P, Q, Gamma float64 }

// FitBGNBD fits BG/NBD by maximum likelihood (opts nil = defaults) and
// returns the parameters and the log-likelihood.
func FitBGNBD(opts *BTYDOptions, r RFM) (BGNBD, float64, error) {
	n, err := r.n(false)
	if err != nil {
		return BGNBD{}, 0, err
	}
	var p [4]C.double
	var ll C.double
	err = call(func() C.int {
		return C.clv_bgnbd_fit(btydOptionsC(opts), C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T), &p[0], &ll)
	})
	return BGNBD{float64(p[0]), float64(p[1]), float64(p[2]), float64(p[3])}, float64(ll), err
}

func (m BGNBD) c() [4]C.double {
	return [4]C.double{C.double(m.R), C.double(m.Alpha), C.double(m.A), C.double(m.B)}
}

// Expected returns E[transactions in the next horizon time units] and P(alive) per customer.
func (m BGNBD) Expected(r RFM, horizon float64) (expected, pAlive []float32, err error) {
	n, err := r.n(false)
	if err != nil {
		return nil, nil, err
	}
	p := m.c()
	expected, pAlive = make([]float32, n), make([]float32, n)
	err = call(func() C.int {
		return C.clv_bgnbd_expected(&p[0], C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T),
			C.double(horizon), floatPtr(expected), floatPtr(pAlive))
	})
	if err != nil {
		return nil, nil, err
	}
	return expected, pAlive, nil
}

// LogLik is the total log-likelihood of the customers at these parameters.
func (m BGNBD) LogLik(r RFM) (float64, error) {
	n, err := r.n(false)
	if err != nil {
		return 0, err
	}
	p := m.c()
	var out C.double
	err = call(func() C.int {
		return C.clv_bgnbd_loglik(&p[0], C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T), &out)
	})
	return float64(out), err
}

// FitParetoNBD fits Pareto/NBD by maximum likelihood.
func FitParetoNBD(opts *BTYDOptions, r RFM) (ParetoNBD, float64, error) {
	n, err := r.n(false)
	if err != nil {
		return ParetoNBD{}, 0, err
	}
	var p [4]C.double
	var ll C.double
	err = call(func() C.int {
		return C.clv_paretonbd_fit(btydOptionsC(opts), C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T), &p[0], &ll)
	})
	return ParetoNBD{float64(p[0]), float64(p[1]), float64(p[2]), float64(p[3])}, float64(ll), err
}

func (m ParetoNBD) c() [4]C.double {
	return [4]C.double{C.double(m.R), C.double(m.Alpha), C.double(m.S), C.double(m.Beta)}
}

// Expected returns E[transactions in the next horizon time units] and P(alive) per customer.
func (m ParetoNBD) Expected(r RFM, horizon float64) (expected, pAlive []float32, err error) {
	n, err := r.n(false)
	if err != nil {
		return nil, nil, err
	}
	p := m.c()
	expected, pAlive = make([]float32, n), make([]float32, n)
	err = call(func() C.int {
		return C.clv_paretonbd_expected(&p[0], C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T),
			C.double(horizon), floatPtr(expected), floatPtr(pAlive))
	})
	if err != nil {
		return nil, nil, err
	}
	return expected, pAlive, nil
}

// LogLik is the total log-likelihood of the customers at these parameters.
func (m ParetoNBD) LogLik(r RFM) (float64, error) {
	n, err := r.n(false)
	if err != nil {
		return 0, err
	}
	p := m.c()
	var out C.double
	err = call(func() C.int {
		return C.clv_paretonbd_loglik(&p[0], C.uint64_t(n), floatPtr(r.X), floatPtr(r.TX), floatPtr(r.T), &out)
	})
	return float64(out), err
}

// FitGammaGamma fits the spend model on the customers with X > 0 and M > 0.
func FitGammaGamma(opts *BTYDOptions, r RFM) (GammaGamma, float64, error) {
	n, err := r.n(true)
	if err != nil {
		return GammaGamma{}, 0, err
	}
	var p [3]C.double
	var ll C.double
	err = call(func() C.int {
		return C.clv_gammagamma_fit(btydOptionsC(opts), C.uint64_t(n), floatPtr(r.X), floatPtr(r.M), &p[0], &ll)
	})
	return GammaGamma{float64(p[0]), float64(p[1]), float64(p[2])}, float64(ll), err
}

// ExpectedValue returns each customer's expected mean transaction value.
func (m GammaGamma) ExpectedValue(r RFM) ([]float32, error) {
	n, err := r.n(true)
	if err != nil {
		return nil, err
	}
	p := [3]C.double{C.double(m.P), C.double(m.Q), C.double(m.Gamma)}
	out := make([]float32, n)
	err = call(func() C.int {
		return C.clv_gammagamma_expected_value(&p[0], C.uint64_t(n), floatPtr(r.X), floatPtr(r.M), floatPtr(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
