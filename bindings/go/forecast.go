package clv

/*
#include <stdint.h>
#include <stdlib.h>
#include <clv/clv.h>
int clvgo_set_fit_callback(clv_forecaster *f, uintptr_t handle);
*/
import "C"

import (
	"context"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// ForecastOptions configures a Forecaster; start from DefaultForecastOptions.
type ForecastOptions struct {
	Cell        CellKind
	HiddenSize  uint32
	NumLayers   uint32
	Epochs      uint32 // 0 = early stopping on a temporal split
	BatchSize   uint32
	LR          float32
	WeightDecay float32
	MaxSteps    uint32 // history window in weeks
	Samples     uint32 // Monte Carlo paths per customer
	HorizonDays uint32 // default horizon of Predict
	Seed        uint64
	ValidWeeks  uint32
	MaxEpochs   uint32
	Ensemble    uint32  // networks averaged (1..16)
	Threads     uint32  // prediction threads (not saved)
	Dropout     float32 // dropout rate in training, 0 <= p < 1 (0 = off)
}

// DefaultForecastOptions returns libclv's defaults.
func DefaultForecastOptions() ForecastOptions {
	var c C.clv_forecast_options
	C.clv_forecast_options_init(&c)
	return forecastOptionsFromC(&c)
}

func forecastOptionsFromC(c *C.clv_forecast_options) ForecastOptions {
	return ForecastOptions{
		Cell: CellKind(c.cell), HiddenSize: uint32(c.hidden_size), NumLayers: uint32(c.num_layers),
		Epochs: uint32(c.epochs), BatchSize: uint32(c.batch_size), LR: float32(c.lr),
		WeightDecay: float32(c.weight_decay), MaxSteps: uint32(c.max_steps), Samples: uint32(c.samples),
		HorizonDays: uint32(c.horizon_days), Seed: uint64(c.seed), ValidWeeks: uint32(c.valid_weeks),
		MaxEpochs: uint32(c.max_epochs), Ensemble: uint32(c.ensemble), Threads: uint32(c.threads),
		Dropout: float32(c.dropout),
	}
}

func (o *ForecastOptions) toC() C.clv_forecast_options {
	var c C.clv_forecast_options
	C.clv_forecast_options_init(&c)
	c.cell = C.int32_t(o.Cell)
	c.hidden_size, c.num_layers = C.uint32_t(o.HiddenSize), C.uint32_t(o.NumLayers)
	c.epochs, c.batch_size = C.uint32_t(o.Epochs), C.uint32_t(o.BatchSize)
	c.lr, c.weight_decay = C.float(o.LR), C.float(o.WeightDecay)
	c.max_steps, c.samples, c.horizon_days = C.uint32_t(o.MaxSteps), C.uint32_t(o.Samples), C.uint32_t(o.HorizonDays)
	c.seed = C.uint64_t(o.Seed)
	c.valid_weeks, c.max_epochs = C.uint32_t(o.ValidWeeks), C.uint32_t(o.MaxEpochs)
	c.ensemble, c.threads = C.uint32_t(o.Ensemble), C.uint32_t(o.Threads)
	c.dropout = C.float(o.Dropout)
	return c
}

// Forecaster predicts each customer's spend, transactions and activity over
// a horizon (forecast.h, docs/accuracy.md). Fit needs it to itself; a fitted
// or loaded forecaster's Predict may run from many goroutines at once.
type Forecaster struct {
	ptr *C.clv_forecaster
}

func newForecaster(p *C.clv_forecaster) *Forecaster {
	f := &Forecaster{ptr: p}
	runtime.SetFinalizer(f, (*Forecaster).Close)
	return f
}

// NewForecaster creates an unfitted forecaster; opts nil means the defaults.
func NewForecaster(opts *ForecastOptions) (*Forecaster, error) {
	var copts *C.clv_forecast_options
	if opts != nil {
		c := opts.toC()
		copts = &c
	}
	var p *C.clv_forecaster
	if err := call(func() C.int { return C.clv_forecaster_new(&p, copts) }); err != nil {
		return nil, err
	}
	return newForecaster(p), nil
}

// LoadForecaster reads a forecaster saved by Save.
func LoadForecaster(path string) (*Forecaster, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.clv_forecaster
	if err := call(func() C.int { return C.clv_forecaster_load(&p, cpath) }); err != nil {
		return nil, err
	}
	return newForecaster(p), nil
}

// LoadForecasterBytes reads a forecaster from the bytes MarshalBinary returned.
func LoadForecasterBytes(data []byte) (*Forecaster, error) {
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	var p *C.clv_forecaster
	if err := call(func() C.int { return C.clv_forecaster_load_buffer(&p, ptr, C.size_t(len(data))) }); err != nil {
		return nil, err
	}
	return newForecaster(p), nil
}

// Close frees the forecaster. It is safe to call more than once.
func (f *Forecaster) Close() error {
	if f.ptr != nil {
		C.clv_forecaster_free(f.ptr)
		f.ptr = nil
		runtime.SetFinalizer(f, nil)
	}
	return nil
}

// Options returns the forecaster's configuration.
func (f *Forecaster) Options() (ForecastOptions, error) {
	if f.ptr == nil {
		return ForecastOptions{}, closedError("Forecaster")
	}
	defer runtime.KeepAlive(f)
	var c C.clv_forecast_options
	C.clv_forecast_options_init(&c)
	err := call(func() C.int { return C.clv_forecaster_get_options(f.ptr, &c) })
	return forecastOptionsFromC(&c), err
}

// FitProgress is reported after every epoch of FitContext.
type FitProgress struct {
	Epoch, Epochs int
	TrainLoss     float64 // mean loss per training week this epoch
	ValidLoss     float64 // NaN outside the early-stopping run
	Elapsed, ETA  float64 // seconds
}

// fitState is what the C callback reaches through its cgo.Handle.
type fitState struct {
	ctx      context.Context
	progress func(FitProgress)
}

//export clvgoFitProgress
func clvgoFitProgress(p *C.clv_fit_progress, handle C.uintptr_t) C.int {
	st := cgo.Handle(handle).Value().(*fitState)
	if st.progress != nil {
		st.progress(FitProgress{
			Epoch: int(p.epoch), Epochs: int(p.epochs), TrainLoss: float64(p.train_loss),
			ValidLoss: float64(p.valid_loss), Elapsed: float64(p.elapsed_seconds), ETA: float64(p.eta_seconds),
		})
	}
	if st.ctx.Err() != nil {
		return 1 // stop: fit returns CLV_ECANCELED
	}
	return 0
}

// Fit trains on l up to cutoff (inclusive); nothing dated later is read.
func (f *Forecaster) Fit(l *TxLog, cutoff Day) error {
	return f.FitContext(context.Background(), l, cutoff, nil)
}

// FitContext is Fit with progress reports after every epoch (progress may be
// nil) and cancellation: when ctx is done, fitting stops at the end of the
// current epoch and the error matches ErrCanceled. progress runs on the
// fitting goroutine, inside the C call: it must not panic (a panic cannot
// unwind through libclv's frames) and must not use this forecaster.
func (f *Forecaster) FitContext(ctx context.Context, l *TxLog, cutoff Day, progress func(FitProgress)) error {
	if f.ptr == nil || l == nil || l.ptr == nil {
		return closedError("Forecaster or TxLog")
	}
	if err := ctx.Err(); err != nil {
		return &Error{Status: ErrCanceled, Message: "fit not started: " + err.Error()}
	}
	defer runtime.KeepAlive(f)
	defer runtime.KeepAlive(l)
	h := cgo.NewHandle(&fitState{ctx: ctx, progress: progress})
	defer h.Delete()
	if err := call(func() C.int { return C.clvgo_set_fit_callback(f.ptr, C.uintptr_t(h)) }); err != nil {
		return err
	}
	defer C.clvgo_set_fit_callback(f.ptr, 0)
	return call(func() C.int { return C.clv_forecaster_fit(f.ptr, l.ptr, C.int32_t(cutoff)) })
}

// Fitted reports whether the forecaster was fitted or loaded.
func (f *Forecaster) Fitted() bool {
	defer runtime.KeepAlive(f)
	return f.ptr != nil && C.clv_forecaster_is_fitted(f.ptr) != 0
}

// FitCutoff is the cutoff the forecaster was fitted at.
func (f *Forecaster) FitCutoff() Day {
	defer runtime.KeepAlive(f)
	return Day(C.clv_forecaster_fit_cutoff(f.ptr))
}

// SetThreads splits each Predict's customers over n threads (bit-identical
// results for every n). Not while other goroutines use the forecaster.
func (f *Forecaster) SetThreads(n int) error {
	if f.ptr == nil {
		return closedError("Forecaster")
	}
	defer runtime.KeepAlive(f)
	return call(func() C.int { return C.clv_forecaster_set_threads(f.ptr, C.int32_t(n)) })
}

// Prediction holds one entry per customer, in the same order in every slice.
type Prediction struct {
	AtDay        Day
	HorizonDays  int
	CustomerIDs  []string
	Spend        []float32 // expected spend over (AtDay, AtDay+HorizonDays]
	Transactions []float32 // expected purchase days over the horizon
	PActive      []float32 // probability of at least one purchase
	SpendP10     []float32 // 10% and 90% quantiles of the spend: an 80% interval
	SpendP90     []float32
	Stages       []Stage // lifecycle stage at AtDay
}

// Predict predicts for every customer of l with a purchase on or before
// atDay, over (atDay, atDay+horizonDays]; horizonDays 0 uses the fitted
// default. Safe from many goroutines on one fitted forecaster and log.
func (f *Forecaster) Predict(l *TxLog, atDay Day, horizonDays int) (*Prediction, error) {
	if f.ptr == nil || l == nil || l.ptr == nil {
		return nil, closedError("Forecaster or TxLog")
	}
	if horizonDays < 0 {
		return nil, errorf(ErrInvalid, "horizon %d days: must be >= 0", horizonDays)
	}
	defer runtime.KeepAlive(f)
	defer runtime.KeepAlive(l)
	var p *C.clv_prediction
	if err := call(func() C.int {
		return C.clv_forecaster_predict(f.ptr, l.ptr, C.int32_t(atDay), C.uint32_t(horizonDays), &p)
	}); err != nil {
		return nil, err
	}
	defer C.clv_prediction_free(p)
	n := uint64(C.clv_prediction_customers(p))
	out := &Prediction{
		AtDay:        Day(C.clv_prediction_at_day(p)),
		HorizonDays:  int(C.clv_prediction_horizon_days(p)),
		CustomerIDs:  make([]string, n),
		Spend:        cFloats(C.clv_prediction_spend(p), n),
		Transactions: cFloats(C.clv_prediction_transactions(p), n),
		PActive:      cFloats(C.clv_prediction_p_active(p), n),
		SpendP10:     cFloats(C.clv_prediction_spend_p10(p), n),
		SpendP90:     cFloats(C.clv_prediction_spend_p90(p), n),
		Stages:       make([]Stage, n),
	}
	for i, s := range cInt32s(C.clv_prediction_stages(p), n) {
		out.Stages[i] = Stage(s)
	}
	for i := range out.CustomerIDs {
		out.CustomerIDs[i] = C.GoString(C.clv_prediction_customer_id(p, C.uint64_t(i)))
	}
	return out, nil
}

// Save writes the forecaster to path atomically (docs/model-format.md).
func (f *Forecaster) Save(path string) error {
	if f.ptr == nil {
		return closedError("Forecaster")
	}
	defer runtime.KeepAlive(f)
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return call(func() C.int { return C.clv_forecaster_save(f.ptr, cpath) })
}

// MarshalBinary returns the model file's bytes (encoding.BinaryMarshaler).
func (f *Forecaster) MarshalBinary() ([]byte, error) {
	if f.ptr == nil {
		return nil, closedError("Forecaster")
	}
	defer runtime.KeepAlive(f)
	var buf unsafe.Pointer
	var size C.size_t
	if err := call(func() C.int { return C.clv_forecaster_save_buffer(f.ptr, &buf, &size) }); err != nil {
		return nil, err
	}
	defer C.clv_free(buf)
	return C.GoBytes(buf, C.int(size)), nil
}

// Explanation attributes one customer's predicted first-week spend to its
// weekly inputs with integrated gradients (forecast.h). The attributions add
// up to Value - Baseline, up to a small quadrature error.
type Explanation struct {
	InputNames   []string  // the inputs of one week ("transactions", "log_bgnbd_rate", ...)
	Weeks        int       // weeks of history explained; the last is the week of atDay
	Attributions []float32 // [Weeks][len(InputNames)], oldest week first, in dollars
	Value        float64   // the explained prediction
	Baseline     float64   // the baseline's (the average training week)
}

// Explain explains the prediction for customerID at atDay.
func (f *Forecaster) Explain(l *TxLog, atDay Day, customerID string) (*Explanation, error) {
	if f.ptr == nil || l == nil || l.ptr == nil {
		return nil, closedError("Forecaster or TxLog")
	}
	defer runtime.KeepAlive(f)
	defer runtime.KeepAlive(l)
	cid := C.CString(customerID)
	defer C.free(unsafe.Pointer(cid))
	var e *C.clv_explanation
	if err := call(func() C.int { return C.clv_forecaster_explain(f.ptr, l.ptr, C.int32_t(atDay), cid, &e) }); err != nil {
		return nil, err
	}
	defer C.clv_explanation_free(e)
	inputs, weeks := uint32(C.clv_explanation_inputs(e)), uint32(C.clv_explanation_weeks(e))
	out := &Explanation{
		InputNames:   make([]string, inputs),
		Weeks:        int(weeks),
		Attributions: cFloats(C.clv_explanation_attributions(e), uint64(inputs)*uint64(weeks)),
		Value:        float64(C.clv_explanation_value(e)),
		Baseline:     float64(C.clv_explanation_baseline(e)),
	}
	for k := range out.InputNames {
		out.InputNames[k] = C.GoString(C.clv_explanation_input_name(e, C.uint32_t(k)))
	}
	return out, nil
}
