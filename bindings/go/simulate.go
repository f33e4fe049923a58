package clv

/*
#include <stdlib.h>
#include <clv/clv.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// SimOptions configures libclv's synthetic transaction logs (docs/simulator.md):
// BG/NBD purchasing and dropout, Gamma-Gamma spend, weekly and yearly season.
type SimOptions struct {
	Customers       uint64
	Seed            uint64
	StartDay        Day
	Days            uint32
	AcquisitionDays uint32
	R, Alpha        float64 // purchase rate per week ~ Gamma(R, rate Alpha)
	A, B            float64 // dropout ~ Beta(A, B)
	P, Q, Gamma     float64 // Gamma-Gamma spend
	WeeklyAmplitude float64
	YearlyAmplitude float64
	BrowseShare     float64
}

// DefaultSimOptions returns libclv's defaults: a CDNOW-like log of 10,000
// customers from 1997-01-01 over 78 weeks.
func DefaultSimOptions() SimOptions {
	var c C.clv_sim_options
	C.clv_sim_options_init(&c)
	return SimOptions{
		Customers: uint64(c.customers), Seed: uint64(c.seed), StartDay: Day(c.start_day),
		Days: uint32(c.days), AcquisitionDays: uint32(c.acquisition_days),
		R: float64(c.r), Alpha: float64(c.alpha), A: float64(c.a), B: float64(c.b),
		P: float64(c.p), Q: float64(c.q), Gamma: float64(c.gamma),
		WeeklyAmplitude: float64(c.weekly_amplitude), YearlyAmplitude: float64(c.yearly_amplitude),
		BrowseShare: float64(c.browse_share),
	}
}

func (o *SimOptions) toC() C.clv_sim_options {
	var c C.clv_sim_options
	C.clv_sim_options_init(&c)
	c.customers = C.uint64_t(o.Customers)
	c.seed = C.uint64_t(o.Seed)
	c.start_day = C.int32_t(o.StartDay)
	c.days = C.uint32_t(o.Days)
	c.acquisition_days = C.uint32_t(o.AcquisitionDays)
	c.r, c.alpha, c.a, c.b = C.double(o.R), C.double(o.Alpha), C.double(o.A), C.double(o.B)
	c.p, c.q, c.gamma = C.double(o.P), C.double(o.Q), C.double(o.Gamma)
	c.weekly_amplitude = C.double(o.WeeklyAmplitude)
	c.yearly_amplitude = C.double(o.YearlyAmplitude)
	c.browse_share = C.double(o.BrowseShare)
	return c
}

// Simulate appends the synthetic log to l (same options, same rows).
func Simulate(opts SimOptions, l *TxLog) error {
	if l == nil || l.ptr == nil {
		return closedError("TxLog")
	}
	defer runtime.KeepAlive(l)
	c := opts.toC()
	return call(func() C.int { return C.clv_simulate_to_txlog(&c, l.ptr) })
}

// SimulateCSV writes the synthetic log as CSV (customer_id,date,amount,quantity,event) atomically.
func SimulateCSV(opts SimOptions, path string) error {
	c := opts.toC()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return call(func() C.int { return C.clv_simulate_to_csv(&c, cpath) })
}
