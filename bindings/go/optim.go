package clv

/*
#include <clv/clv.h>
*/
import "C"

import "runtime"

// OptimKind selects the update rule (docs/optimizers.md).
type OptimKind int32

const (
	Adam     OptimKind = C.CLV_OPTIM_ADAM
	AdamW    OptimKind = C.CLV_OPTIM_ADAMW
	SGD      OptimKind = C.CLV_OPTIM_SGD
	Adagrad  OptimKind = C.CLV_OPTIM_ADAGRAD
	Adadelta OptimKind = C.CLV_OPTIM_ADADELTA
)

// Schedule is a learning-rate schedule.
type Schedule int32

const (
	ScheduleConstant Schedule = C.CLV_SCHEDULE_CONSTANT
	ScheduleStep     Schedule = C.CLV_SCHEDULE_STEP
	ScheduleCosine   Schedule = C.CLV_SCHEDULE_COSINE
)

// OptimOptions configures an Optimizer; start from DefaultOptimOptions(kind).
type OptimOptions struct {
	Kind        OptimKind
	LR          float32
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32
	Momentum    float32
	Dampening   float32
	Nesterov    bool
	Rho         float32
	ClipNorm    float32 // global-norm clipping; 0 = off
	Schedule    Schedule
	StepSize    uint32
	Gamma       float32
	TotalSteps  uint64
	MinLR       float32
}

// DefaultOptimOptions returns libclv's defaults for kind.
func DefaultOptimOptions(kind OptimKind) OptimOptions {
	var c C.clv_optim_options
	C.clv_optim_options_init(&c, C.int32_t(kind))
	return OptimOptions{
		Kind: OptimKind(c.kind), LR: float32(c.lr), Beta1: float32(c.beta1), Beta2: float32(c.beta2),
		Eps: float32(c.eps), WeightDecay: float32(c.weight_decay), Momentum: float32(c.momentum),
		Dampening: float32(c.dampening), Nesterov: c.nesterov != 0, Rho: float32(c.rho),
		ClipNorm: float32(c.clip_norm), Schedule: Schedule(c.schedule), StepSize: uint32(c.step_size),
		Gamma: float32(c.gamma), TotalSteps: uint64(c.total_steps), MinLR: float32(c.min_lr),
	}
}

func (o *OptimOptions) toC() C.clv_optim_options {
	var c C.clv_optim_options
	C.clv_optim_options_init(&c, C.int32_t(o.Kind))
	c.lr, c.beta1, c.beta2, c.eps = C.float(o.LR), C.float(o.Beta1), C.float(o.Beta2), C.float(o.Eps)
	c.weight_decay, c.momentum, c.dampening = C.float(o.WeightDecay), C.float(o.Momentum), C.float(o.Dampening)
	c.nesterov = boolInt(o.Nesterov)
	c.rho, c.clip_norm = C.float(o.Rho), C.float(o.ClipNorm)
	c.schedule = C.int32_t(o.Schedule)
	c.step_size = C.uint32_t(o.StepSize)
	c.gamma = C.float(o.Gamma)
	c.total_steps = C.uint64_t(o.TotalSteps)
	c.min_lr = C.float(o.MinLR)
	return c
}

// Optimizer keeps an update rule's state (moments, step count). It is handed
// the parameters at each step, so it and the model may be closed in any order.
type Optimizer struct {
	ptr *C.clv_optim
}

// NewOptimizer creates an optimizer.
func NewOptimizer(opts OptimOptions) (*Optimizer, error) {
	c := opts.toC()
	var p *C.clv_optim
	if err := call(func() C.int { return C.clv_optim_new(&p, &c) }); err != nil {
		return nil, err
	}
	o := &Optimizer{ptr: p}
	runtime.SetFinalizer(o, (*Optimizer).Close)
	return o, nil
}

// Close frees the optimizer. It is safe to call more than once.
func (o *Optimizer) Close() error {
	if o.ptr != nil {
		C.clv_optim_free(o.ptr)
		o.ptr = nil
		runtime.SetFinalizer(o, nil)
	}
	return nil
}

// Step updates m's parameters from its gradients (it does not zero them).
// On ErrNumeric nothing was changed.
func (o *Optimizer) Step(m *Model) error {
	if o.ptr == nil || m == nil || m.ptr == nil {
		return closedError("Optimizer or Model")
	}
	defer runtime.KeepAlive(o)
	defer runtime.KeepAlive(m)
	return call(func() C.int { return C.clv_optim_step(o.ptr, m.ptr) })
}

// StepRaw applies the same update to any parameter slice, in place.
func (o *Optimizer) StepRaw(params, grads []float32) error {
	if o.ptr == nil {
		return closedError("Optimizer")
	}
	if len(params) != len(grads) {
		return errorf(ErrShape, "%d params but %d grads", len(params), len(grads))
	}
	defer runtime.KeepAlive(o)
	return call(func() C.int {
		return C.clv_optim_step_raw(o.ptr, C.uint64_t(len(params)), floatPtr(params), floatPtr(grads))
	})
}

// Reset forgets the state; the next step starts afresh.
func (o *Optimizer) Reset() error {
	if o.ptr == nil {
		return closedError("Optimizer")
	}
	defer runtime.KeepAlive(o)
	return call(func() C.int { return C.clv_optim_reset(o.ptr) })
}

// StepCount, LastLR and LastGradNorm report on the steps taken so far.
func (o *Optimizer) StepCount() uint64 {
	defer runtime.KeepAlive(o)
	return uint64(C.clv_optim_step_count(o.ptr))
}
func (o *Optimizer) LastLR() float32 {
	defer runtime.KeepAlive(o)
	return float32(C.clv_optim_last_lr(o.ptr))
}
func (o *Optimizer) LastGradNorm() float32 {
	defer runtime.KeepAlive(o)
	return float32(C.clv_optim_last_grad_norm(o.ptr))
}

// LossKind selects a loss (docs/losses.md).
type LossKind int32

const (
	LossMSE       LossKind = C.CLV_LOSS_MSE
	LossMAE       LossKind = C.CLV_LOSS_MAE
	LossHuber     LossKind = C.CLV_LOSS_HUBER
	LossBCELogits LossKind = C.CLV_LOSS_BCE_LOGITS
	LossCELogits  LossKind = C.CLV_LOSS_CE_LOGITS
	LossZILN      LossKind = C.CLV_LOSS_ZILN
)

// Reduction combines the per-row losses.
type Reduction int32

const (
	ReduceMean Reduction = C.CLV_REDUCE_MEAN
	ReduceSum  Reduction = C.CLV_REDUCE_SUM
)

// LossOptions configures a loss; start from DefaultLossOptions.
type LossOptions struct {
	Kind       LossKind
	Reduction  Reduction
	HuberDelta float32
}

// DefaultLossOptions returns MSE with mean reduction.
func DefaultLossOptions() LossOptions {
	var c C.clv_loss_options
	C.clv_loss_options_init(&c)
	return LossOptions{Kind: LossKind(c.kind), Reduction: Reduction(c.reduction), HuberDelta: float32(c.huber_delta)}
}

func (o *LossOptions) toC() C.clv_loss_options {
	var c C.clv_loss_options
	C.clv_loss_options_init(&c)
	c.kind, c.reduction, c.huber_delta = C.int32_t(o.Kind), C.int32_t(o.Reduction), C.float(o.HuberDelta)
	return c
}

// TargetDim is the number of target columns per row for predictions of predDim columns.
func (o LossOptions) TargetDim(predDim int) (int, error) {
	c := o.toC()
	var out C.uint32_t
	err := call(func() C.int { return C.clv_loss_target_dim(&c, C.uint32_t(predDim), &out) })
	return int(out), err
}

// Eval evaluates the loss of pred [rows][predDim] against target
// [rows][TargetDim] and returns its value and gradient dValue/dpred.
// weight and mask are [rows] or nil.
func (o LossOptions) Eval(predDim int, pred, target, weight, mask []float32) (float64, []float32, error) {
	if predDim < 1 || len(pred)%predDim != 0 || len(pred) == 0 {
		return 0, nil, errorf(ErrShape, "pred has %d floats: not a whole number of rows of %d", len(pred), predDim)
	}
	rows := len(pred) / predDim
	td, err := o.TargetDim(predDim)
	if err != nil {
		return 0, nil, err
	}
	if len(target) != rows*td {
		return 0, nil, errorf(ErrShape, "target has %d floats, want %d", len(target), rows*td)
	}
	if (weight != nil && len(weight) != rows) || (mask != nil && len(mask) != rows) {
		return 0, nil, errorf(ErrShape, "weight and mask need %d entries", rows)
	}
	c := o.toC()
	var value C.double
	grad := make([]float32, len(pred))
	err = call(func() C.int {
		return C.clv_loss_eval(&c, C.uint32_t(rows), C.uint32_t(predDim), floatPtr(pred), floatPtr(target),
			floatPtr(weight), floatPtr(mask), &value, floatPtr(grad))
	})
	if err != nil {
		return 0, nil, err
	}
	return float64(value), grad, nil
}
