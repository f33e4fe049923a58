package clv

/*
#include <clv/clv.h>
*/
import "C"

import "runtime"

// CellKind is the recurrent cell of a model.
type CellKind int32

const (
	CellLSTM CellKind = C.CLV_CELL_LSTM
	CellGRU  CellKind = C.CLV_CELL_GRU
)

// ModelOptions configures a Model; start from DefaultModelOptions and set
// InputSize (it has no default).
type ModelOptions struct {
	Cell         CellKind
	InputSize    uint32 // F: features per step (required)
	HiddenSize   uint32 // H
	NumLayers    uint32
	StaticSize   uint32 // S: static features appended to each head's input
	FinalOutputs uint32 // outputs of the head on the last valid state; 0 = no such head
	StepOutputs  uint32 // outputs of the per-step head; 0 = no such head
	Seed         uint64
	ForgetBias   float32
	Dropout      float64 // training only: dropout rate on the layers' outputs, 0 <= p < 1
}

// DefaultModelOptions returns libclv's defaults (LSTM, H = 64, one final output).
func DefaultModelOptions() ModelOptions {
	var c C.clv_model_options
	C.clv_model_options_init(&c)
	return modelOptionsFromC(&c)
}

func modelOptionsFromC(c *C.clv_model_options) ModelOptions {
	return ModelOptions{
		Cell: CellKind(c.cell), InputSize: uint32(c.input_size), HiddenSize: uint32(c.hidden_size),
		NumLayers: uint32(c.num_layers), StaticSize: uint32(c.static_size),
		FinalOutputs: uint32(c.final_outputs), StepOutputs: uint32(c.step_outputs),
		Seed: uint64(c.seed), ForgetBias: float32(c.forget_bias), Dropout: float64(c.dropout),
	}
}

func (o *ModelOptions) toC() C.clv_model_options {
	var c C.clv_model_options
	C.clv_model_options_init(&c)
	c.cell = C.int32_t(o.Cell)
	c.input_size = C.uint32_t(o.InputSize)
	c.hidden_size = C.uint32_t(o.HiddenSize)
	c.num_layers = C.uint32_t(o.NumLayers)
	c.static_size = C.uint32_t(o.StaticSize)
	c.final_outputs = C.uint32_t(o.FinalOutputs)
	c.step_outputs = C.uint32_t(o.StepOutputs)
	c.seed = C.uint64_t(o.Seed)
	c.forget_bias = C.float(o.ForgetBias)
	c.dropout = C.double(o.Dropout)
	return c
}

// Batch is Size sequences of Steps steps, row-major:
// X [Size][Steps][F], Lengths [Size] (nil = all Steps valid), Static [Size][S]
// (nil when S = 0). The slices go to C without a copy.
type Batch struct {
	Size, Steps int
	X           []float32
	Lengths     []int32
	Static      []float32
}

// Model is a stack of LSTM or GRU layers with dense heads (docs/model.md).
// Predict may run from many goroutines at once, each with its own
// Workspace (or none); training calls need the model to themselves.
type Model struct {
	ptr   *C.clv_model
	opts  ModelOptions
	lastB int // batch of the last Forward, for Backward's gradient shapes
	lastT int
}

// NewModel creates a model with freshly initialised weights.
func NewModel(opts ModelOptions) (*Model, error) {
	c := opts.toC()
	var p *C.clv_model
	if err := call(func() C.int { return C.clv_model_new(&p, &c) }); err != nil {
		return nil, err
	}
	m := &Model{ptr: p}
	C.clv_model_options_init(&c)
	if err := call(func() C.int { return C.clv_model_get_options(p, &c) }); err != nil {
		C.clv_model_free(p)
		return nil, err
	}
	m.opts = modelOptionsFromC(&c)
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close frees the model. It is safe to call more than once.
func (m *Model) Close() error {
	if m.ptr != nil {
		C.clv_model_free(m.ptr)
		m.ptr = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// Options returns the model's configuration.
func (m *Model) Options() ModelOptions { return m.opts }

// SetThreads sets how many threads libclv runs for this model's recurrent
// layers (default 1; see docs/threading.md). Not while others use the model.
func (m *Model) SetThreads(n int) error {
	if m.ptr == nil {
		return closedError("Model")
	}
	defer runtime.KeepAlive(m)
	return call(func() C.int { return C.clv_model_set_num_threads(m.ptr, C.int32_t(n)) })
}

// check validates a batch's slice lengths against the model, since C cannot.
func (m *Model) check(b *Batch) error {
	if m.ptr == nil {
		return closedError("Model")
	}
	if b.Size < 1 || b.Steps < 1 {
		return errorf(ErrInvalid, "batch %d x %d steps: both must be >= 1", b.Size, b.Steps)
	}
	if want := b.Size * b.Steps * int(m.opts.InputSize); len(b.X) != want {
		return errorf(ErrShape, "x has %d floats, want %d (batch %d x steps %d x features %d)", len(b.X), want, b.Size, b.Steps, m.opts.InputSize)
	}
	if b.Lengths != nil && len(b.Lengths) != b.Size {
		return errorf(ErrShape, "lengths has %d entries, want %d", len(b.Lengths), b.Size)
	}
	if want := b.Size * int(m.opts.StaticSize); len(b.Static) != want {
		return errorf(ErrShape, "static has %d floats, want %d (batch %d x static features %d)", len(b.Static), want, b.Size, m.opts.StaticSize)
	}
	return nil
}

func (m *Model) checkOutputs(b *Batch, final, step []float32) error {
	if final != nil && len(final) != b.Size*int(m.opts.FinalOutputs) {
		return errorf(ErrShape, "final output has %d floats, want %d", len(final), b.Size*int(m.opts.FinalOutputs))
	}
	if step != nil && len(step) != b.Size*b.Steps*int(m.opts.StepOutputs) {
		return errorf(ErrShape, "step output has %d floats, want %d", len(step), b.Size*b.Steps*int(m.opts.StepOutputs))
	}
	return nil
}

// outputs allocates the outputs of every head the model has.
func (m *Model) outputs(b *Batch) (final, step []float32) {
	if m.opts.FinalOutputs > 0 {
		final = make([]float32, b.Size*int(m.opts.FinalOutputs))
	}
	if m.opts.StepOutputs > 0 {
		step = make([]float32, b.Size*b.Steps*int(m.opts.StepOutputs))
	}
	return final, step
}

// Predict runs inference and returns the outputs of the model's heads:
// final [Size][FinalOutputs] and step [Size][Steps][StepOutputs] (nil when
// the model lacks that head). ws may be nil; goroutines sharing a model must
// not share a Workspace.
func (m *Model) Predict(ws *Workspace, b Batch) (final, step []float32, err error) {
	if err := m.check(&b); err != nil {
		return nil, nil, err
	}
	final, step = m.outputs(&b)
	if err := m.PredictInto(ws, b, final, step); err != nil {
		return nil, nil, err
	}
	return final, step, nil
}

// PredictInto is Predict into caller buffers (nil skips a head), allocating
// nothing in Go.
func (m *Model) PredictInto(ws *Workspace, b Batch, final, step []float32) error {
	if err := m.check(&b); err != nil {
		return err
	}
	if err := m.checkOutputs(&b, final, step); err != nil {
		return err
	}
	var cws *C.clv_workspace
	if ws != nil {
		if ws.ptr == nil {
			return closedError("Workspace")
		}
		cws = ws.ptr
	}
	defer runtime.KeepAlive(m)
	defer runtime.KeepAlive(ws)
	return call(func() C.int {
		return C.clv_model_predict(m.ptr, cws, C.uint32_t(b.Size), C.uint32_t(b.Steps),
			floatPtr(b.X), int32Ptr(b.Lengths), floatPtr(b.Static), floatPtr(final), floatPtr(step))
	})
}

// Forward is the training forward pass: like Predict, but keeps the
// activations for Backward.
func (m *Model) Forward(b Batch) (final, step []float32, err error) {
	if err := m.check(&b); err != nil {
		return nil, nil, err
	}
	final, step = m.outputs(&b)
	defer runtime.KeepAlive(m)
	err = call(func() C.int {
		return C.clv_model_forward(m.ptr, C.uint32_t(b.Size), C.uint32_t(b.Steps),
			floatPtr(b.X), int32Ptr(b.Lengths), floatPtr(b.Static), floatPtr(final), floatPtr(step))
	})
	if err != nil {
		return nil, nil, err
	}
	m.lastB, m.lastT = b.Size, b.Steps
	return final, step, nil
}

// Backward back-propagates dLoss/dfinal and dLoss/dstep (either may be nil)
// through the last Forward, adding to the gradients (see ZeroGrad).
func (m *Model) Backward(dFinal, dStep []float32) error {
	if m.ptr == nil {
		return closedError("Model")
	}
	if err := m.checkOutputs(&Batch{Size: m.lastB, Steps: m.lastT}, dFinal, dStep); err != nil {
		return err
	}
	defer runtime.KeepAlive(m)
	return call(func() C.int { return C.clv_model_backward(m.ptr, floatPtr(dFinal), floatPtr(dStep), nil, nil) })
}

// ZeroGrad sets every gradient to zero.
func (m *Model) ZeroGrad() error {
	if m.ptr == nil {
		return closedError("Model")
	}
	defer runtime.KeepAlive(m)
	return call(func() C.int { return C.clv_model_zero_grad(m.ptr) })
}

// TrainStep does zero-grad, forward, loss, backward and one optimizer step,
// and returns the loss before the update. target is [Size][d] for a final
// head, [Size][Steps][d] for a per-step-only model, with d from
// LossOptions.TargetDim; weight is [Size] or nil. loss nil means MSE, mean.
func (m *Model) TrainStep(opt *Optimizer, loss *LossOptions, b Batch, target, weight []float32) (float64, error) {
	if err := m.check(&b); err != nil {
		return 0, err
	}
	if opt == nil || opt.ptr == nil {
		return 0, closedError("Optimizer")
	}
	lo := DefaultLossOptions()
	if loss != nil {
		lo = *loss
	}
	head, rows := m.opts.FinalOutputs, b.Size
	if head == 0 {
		head, rows = m.opts.StepOutputs, b.Size*b.Steps
	}
	td, err := lo.TargetDim(int(head))
	if err != nil {
		return 0, err
	}
	if len(target) != rows*td {
		return 0, errorf(ErrShape, "target has %d floats, want %d (%d rows x %d)", len(target), rows*td, rows, td)
	}
	if weight != nil && len(weight) != b.Size {
		return 0, errorf(ErrShape, "weight has %d entries, want %d", len(weight), b.Size)
	}
	cl := lo.toC()
	var out C.double
	defer runtime.KeepAlive(m)
	defer runtime.KeepAlive(opt)
	err = call(func() C.int {
		return C.clv_model_train_step(m.ptr, opt.ptr, &cl, C.uint32_t(b.Size), C.uint32_t(b.Steps),
			floatPtr(b.X), int32Ptr(b.Lengths), floatPtr(b.Static), floatPtr(target), floatPtr(weight), &out)
	})
	return float64(out), err
}

// ParamCount is the number of parameters (floats).
func (m *Model) ParamCount() int {
	defer runtime.KeepAlive(m)
	return int(C.clv_model_param_count(m.ptr))
}

// ParamTensor describes one named tensor of the flat parameter buffer.
type ParamTensor struct {
	Name       string // e.g. "lstm.0.w_ih"
	Offset     int
	Rows, Cols int
}

// ParamTensors lists the parameter tensors in buffer order.
func (m *Model) ParamTensors() ([]ParamTensor, error) {
	if m.ptr == nil {
		return nil, closedError("Model")
	}
	defer runtime.KeepAlive(m)
	n := uint32(C.clv_model_param_tensor_count(m.ptr))
	out := make([]ParamTensor, n)
	for i := range out {
		var name *C.char
		var off C.uint64_t
		var rows, cols C.uint32_t
		if err := call(func() C.int {
			return C.clv_model_param_tensor_info(m.ptr, C.uint32_t(i), &name, &off, &rows, &cols)
		}); err != nil {
			return nil, err
		}
		out[i] = ParamTensor{Name: C.GoString(name), Offset: int(off), Rows: int(rows), Cols: int(cols)}
	}
	return out, nil
}

// Params copies all parameters into a new slice.
func (m *Model) Params() ([]float32, error) {
	if m.ptr == nil {
		return nil, closedError("Model")
	}
	defer runtime.KeepAlive(m)
	out := make([]float32, m.ParamCount())
	err := call(func() C.int { return C.clv_model_get_params(m.ptr, floatPtr(out), C.uint64_t(len(out))) })
	return out, err
}

// SetParams overwrites all parameters (len must be ParamCount; finite values).
func (m *Model) SetParams(p []float32) error {
	if m.ptr == nil {
		return closedError("Model")
	}
	defer runtime.KeepAlive(m)
	return call(func() C.int { return C.clv_model_set_params(m.ptr, floatPtr(p), C.uint64_t(len(p))) })
}

// Grads copies all gradients into a new slice.
func (m *Model) Grads() ([]float32, error) {
	if m.ptr == nil {
		return nil, closedError("Model")
	}
	defer runtime.KeepAlive(m)
	out := make([]float32, m.ParamCount())
	err := call(func() C.int { return C.clv_model_get_grads(m.ptr, floatPtr(out), C.uint64_t(len(out))) })
	return out, err
}

// Workspace is scratch memory for Predict: one per goroutine, never shared.
type Workspace struct {
	ptr *C.clv_workspace
}

// NewWorkspace creates an empty workspace; it grows on first use.
func NewWorkspace() (*Workspace, error) {
	var p *C.clv_workspace
	if err := call(func() C.int { return C.clv_workspace_new(&p) }); err != nil {
		return nil, err
	}
	w := &Workspace{ptr: p}
	runtime.SetFinalizer(w, (*Workspace).Close)
	return w, nil
}

// Reserve sizes the workspace for m at up to batch x steps, so later
// predictions with no larger shapes allocate nothing.
func (w *Workspace) Reserve(m *Model, batch, steps int) error {
	if w.ptr == nil || m == nil || m.ptr == nil {
		return closedError("Workspace or Model")
	}
	defer runtime.KeepAlive(w)
	defer runtime.KeepAlive(m)
	return call(func() C.int {
		return C.clv_workspace_reserve(w.ptr, m.ptr, C.uint32_t(batch), C.uint32_t(steps))
	})
}

// Close frees the workspace. It is safe to call more than once.
func (w *Workspace) Close() error {
	if w.ptr != nil {
		C.clv_workspace_free(w.ptr)
		w.ptr = nil
		runtime.SetFinalizer(w, nil)
	}
	return nil
}
