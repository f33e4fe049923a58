package clv

/*
#include <clv/clv.h>
*/
import "C"

import "runtime"

// Period is the length of one sequence step.
type Period int32

const (
	PeriodDay   Period = C.CLV_PERIOD_DAY
	PeriodWeek  Period = C.CLV_PERIOD_WEEK
	PeriodMonth Period = C.CLV_PERIOD_MONTH
)

// Norm is the normalisation of static features.
type Norm int32

const (
	NormNone   Norm = C.CLV_NORM_NONE
	NormMinMax Norm = C.CLV_NORM_MINMAX
	NormZScore Norm = C.CLV_NORM_ZSCORE
	NormLog1p  Norm = C.CLV_NORM_LOG1P
)

// Pad says where padding goes in a short sequence.
type Pad int32

const (
	PadPost Pad = C.CLV_PAD_POST
	PadPre  Pad = C.CLV_PAD_PRE
)

// Stage is a customer's lifecycle stage at a cutoff.
type Stage int32

const (
	StageNew     Stage = C.CLV_STAGE_NEW
	StageActive  Stage = C.CLV_STAGE_ACTIVE
	StageAtRisk  Stage = C.CLV_STAGE_AT_RISK
	StageChurned Stage = C.CLV_STAGE_CHURNED
)

// String returns "new", "active", "at-risk", "churned" or "unknown".
func (s Stage) String() string { return C.GoString(C.clv_stage_name(C.int32_t(s))) }

// PipelineOptions configures a Pipeline; start from DefaultPipelineOptions.
type PipelineOptions struct {
	Period        Period
	MaxSteps      uint32 // T
	Pad           Pad
	Norm          Norm
	SeqLog1p      bool
	MaxCategories uint32
	NewDays       uint32
	ActiveDays    uint32
	ChurnDays     uint32
	Threads       uint32 // 1 (default), 0 = one per CPU; outputs identical for any value
}

// DefaultPipelineOptions returns libclv's defaults (weekly, 52 steps).
func DefaultPipelineOptions() PipelineOptions {
	var c C.clv_pipeline_options
	C.clv_pipeline_options_init(&c)
	return PipelineOptions{
		Period: Period(c.period), MaxSteps: uint32(c.max_steps), Pad: Pad(c.pad), Norm: Norm(c.norm),
		SeqLog1p: c.seq_log1p != 0, MaxCategories: uint32(c.max_categories),
		NewDays: uint32(c.new_days), ActiveDays: uint32(c.active_days), ChurnDays: uint32(c.churn_days),
		Threads: uint32(c.threads),
	}
}

func (o *PipelineOptions) toC() C.clv_pipeline_options {
	var c C.clv_pipeline_options
	C.clv_pipeline_options_init(&c)
	c.period = C.int32_t(o.Period)
	c.max_steps = C.uint32_t(o.MaxSteps)
	c.pad = C.int32_t(o.Pad)
	c.norm = C.int32_t(o.Norm)
	c.seq_log1p = boolInt(o.SeqLog1p)
	c.max_categories = C.uint32_t(o.MaxCategories)
	c.new_days = C.uint32_t(o.NewDays)
	c.active_days = C.uint32_t(o.ActiveDays)
	c.churn_days = C.uint32_t(o.ChurnDays)
	c.threads = C.uint32_t(o.Threads)
	return c
}

// Pipeline turns a log into per-customer sequences, static features and
// targets, with scalers and encoders learnt by Fit. After Fit, Transform only
// reads the pipeline and may run from many goroutines at once.
type Pipeline struct {
	ptr *C.clv_pipeline
}

// NewPipeline creates an unfitted pipeline; opts nil means the defaults.
func NewPipeline(opts *PipelineOptions) (*Pipeline, error) {
	var copts *C.clv_pipeline_options
	if opts != nil {
		c := opts.toC()
		copts = &c
	}
	var p *C.clv_pipeline
	if err := call(func() C.int { return C.clv_pipeline_new(&p, copts) }); err != nil {
		return nil, err
	}
	pl := &Pipeline{ptr: p}
	runtime.SetFinalizer(pl, (*Pipeline).Close)
	return pl, nil
}

// Close frees the pipeline. It is safe to call more than once.
func (p *Pipeline) Close() error {
	if p.ptr != nil {
		C.clv_pipeline_free(p.ptr)
		p.ptr = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}

// Fit learns the feature state from the customers seen on or before cutoff,
// reading nothing dated later.
func (p *Pipeline) Fit(l *TxLog, cutoff Day) error {
	if p.ptr == nil || l == nil || l.ptr == nil {
		return closedError("Pipeline or TxLog")
	}
	defer runtime.KeepAlive(p)
	defer runtime.KeepAlive(l)
	return call(func() C.int { return C.clv_pipeline_fit(p.ptr, l.ptr, C.int32_t(cutoff)) })
}

// Fitted reports whether Fit has succeeded.
func (p *Pipeline) Fitted() bool {
	defer runtime.KeepAlive(p)
	return p.ptr != nil && C.clv_pipeline_is_fitted(p.ptr) != 0
}

// SeqFeatureNames and StaticFeatureNames name the F sequence and S static features.
func (p *Pipeline) SeqFeatureNames() []string {
	if p.ptr == nil {
		return nil
	}
	defer runtime.KeepAlive(p)
	n := uint32(C.clv_pipeline_seq_features(p.ptr))
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(C.clv_pipeline_seq_feature_name(p.ptr, C.uint32_t(i)))
	}
	return out
}

func (p *Pipeline) StaticFeatureNames() []string {
	if p.ptr == nil {
		return nil
	}
	defer runtime.KeepAlive(p)
	n := uint32(C.clv_pipeline_static_features(p.ptr))
	out := make([]string, n)
	for i := range out {
		out[i] = C.GoString(C.clv_pipeline_static_feature_name(p.ptr, C.uint32_t(i)))
	}
	return out
}

// Transform builds the dataset at cutoff for every customer with a purchase
// on or before it; holdoutEnd <= cutoff means no targets.
func (p *Pipeline) Transform(l *TxLog, cutoff, holdoutEnd Day) (*Dataset, error) {
	if p.ptr == nil || l == nil || l.ptr == nil {
		return nil, closedError("Pipeline or TxLog")
	}
	defer runtime.KeepAlive(p)
	defer runtime.KeepAlive(l)
	var ds *C.clv_dataset
	if err := call(func() C.int {
		return C.clv_pipeline_transform(p.ptr, l.ptr, C.int32_t(cutoff), C.int32_t(holdoutEnd), &ds)
	}); err != nil {
		return nil, err
	}
	return newDataset(ds), nil
}

// Dataset is a pipeline's output. Its getters return copies in Go memory,
// so they stay valid after Close.
type Dataset struct {
	ptr *C.clv_dataset
}

func newDataset(p *C.clv_dataset) *Dataset {
	d := &Dataset{ptr: p}
	runtime.SetFinalizer(d, (*Dataset).Close)
	return d
}

// Close frees the dataset. It is safe to call more than once.
func (d *Dataset) Close() error {
	if d.ptr != nil {
		C.clv_dataset_free(d.ptr)
		d.ptr = nil
		runtime.SetFinalizer(d, nil)
	}
	return nil
}

// Customers (N), Steps (T), SeqFeatures (F), StaticFeatures (S); 0 after Close.
func (d *Dataset) Customers() int {
	defer runtime.KeepAlive(d)
	return int(C.clv_dataset_customers(d.ptr))
}
func (d *Dataset) Steps() int {
	defer runtime.KeepAlive(d)
	return int(C.clv_dataset_steps(d.ptr))
}
func (d *Dataset) SeqFeatures() int {
	defer runtime.KeepAlive(d)
	return int(C.clv_dataset_seq_features(d.ptr))
}
func (d *Dataset) StaticFeatures() int {
	defer runtime.KeepAlive(d)
	return int(C.clv_dataset_static_features(d.ptr))
}

// Cutoff and HoldoutEnd are the days the dataset was built for.
func (d *Dataset) Cutoff() Day {
	defer runtime.KeepAlive(d)
	return Day(C.clv_dataset_cutoff_day(d.ptr))
}
func (d *Dataset) HoldoutEnd() Day {
	defer runtime.KeepAlive(d)
	return Day(C.clv_dataset_holdout_end_day(d.ptr))
}

// Batch returns the whole dataset as a model input batch (copies).
func (d *Dataset) Batch() Batch {
	defer runtime.KeepAlive(d)
	n, t := uint64(d.Customers()), uint64(d.Steps())
	return Batch{
		Size: int(n), Steps: int(t),
		X:       cFloats(C.clv_dataset_sequences(d.ptr), n*t*uint64(d.SeqFeatures())),
		Lengths: cInt32s(C.clv_dataset_lengths(d.ptr), n),
		Static:  cFloats(C.clv_dataset_static(d.ptr), n*uint64(d.StaticFeatures())),
	}
}

// Per-customer arrays [N], copied into Go memory.

// TargetSpend: holdout spend.
func (d *Dataset) TargetSpend() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_target_spend(d.ptr), uint64(d.Customers()))
}

// TargetTransactions: holdout transactions.
func (d *Dataset) TargetTransactions() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_target_transactions(d.ptr), uint64(d.Customers()))
}

// TargetActive: 1 when the customer bought in the holdout, else 0.
func (d *Dataset) TargetActive() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_target_active(d.ptr), uint64(d.Customers()))
}

// Frequency: repeat transactions x in calibration.
func (d *Dataset) Frequency() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_frequency(d.ptr), uint64(d.Customers()))
}

// RecencyDays: t_x: days from first to last calibration purchase.
func (d *Dataset) RecencyDays() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_recency_days(d.ptr), uint64(d.Customers()))
}

// AgeDays: T: days from first purchase to the cutoff.
func (d *Dataset) AgeDays() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_age_days(d.ptr), uint64(d.Customers()))
}

// MonetaryRepeat: mean value of the repeat transactions.
func (d *Dataset) MonetaryRepeat() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_monetary_repeat(d.ptr), uint64(d.Customers()))
}

// CalibrationSpend: total calibration spend.
func (d *Dataset) CalibrationSpend() []float32 {
	defer runtime.KeepAlive(d)
	return cFloats(C.clv_dataset_calibration_spend(d.ptr), uint64(d.Customers()))
}

// Stages are the lifecycle stages at the cutoff.
func (d *Dataset) Stages() []Stage {
	defer runtime.KeepAlive(d)
	raw := cInt32s(C.clv_dataset_stages(d.ptr), uint64(d.Customers()))
	out := make([]Stage, len(raw))
	for i, s := range raw {
		out[i] = Stage(s)
	}
	return out
}

// CustomerIDs are the customers' ids, in row order.
func (d *Dataset) CustomerIDs() []string {
	defer runtime.KeepAlive(d)
	out := make([]string, d.Customers())
	for i := range out {
		out[i] = C.GoString(C.clv_dataset_customer_id(d.ptr, C.uint64_t(i)))
	}
	return out
}
