package clv

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Many goroutines predict from one shared model and one shared forecaster
// (the read-only calls of docs/threading.md); every result must equal the
// single-goroutine result bit for bit. Goroutines migrate between OS
// threads, so this also exercises the thread-local error handling.
func TestConcurrentModelPredict(t *testing.T) {
	mo := DefaultModelOptions()
	mo.InputSize, mo.HiddenSize, mo.NumLayers, mo.StaticSize, mo.StepOutputs = 3, 16, 2, 2, 1
	m, err := NewModel(mo)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const workers, rounds, B, T = 8, 200, 4, 9
	batches := make([]Batch, workers)
	want := make([][]float32, workers)
	wantStep := make([][]float32, workers)
	for w := range batches {
		b := Batch{Size: B, Steps: T, X: make([]float32, B*T*3), Lengths: make([]int32, B), Static: make([]float32, B*2)}
		for i := range b.X {
			b.X[i] = float32((i*31+w*17)%23)/11 - 1
		}
		for i := range b.Lengths {
			b.Lengths[i] = int32(1 + (i+w)%T)
		}
		for i := range b.Static {
			b.Static[i] = float32(w - i)
		}
		batches[w] = b
		if want[w], wantStep[w], err = m.Predict(nil, b); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var ws *Workspace
			if w%2 == 0 { // half with a workspace of their own, half with none
				var err error
				if ws, err = NewWorkspace(); err != nil {
					errs <- err
					return
				}
				defer ws.Close()
			}
			final := make([]float32, B)
			step := make([]float32, B*T)
			for r := 0; r < rounds; r++ {
				// Every worker takes every batch in turn, so all run on the model at once.
				k := (w + r) % workers
				if err := m.PredictInto(ws, batches[k], final, step); err != nil {
					errs <- err
					return
				}
				if !equalF(final, want[k]) || !equalF(step, wantStep[k]) {
					errs <- fmt.Errorf("worker %d round %d: batch %d differs from the single-threaded result", w, r, k)
					return
				}
				// A failing call in between: its message must reach this goroutine only.
				bad := batches[k]
				bad.Lengths = []int32{0, 0, 0, int32(T + 1)}
				if err := m.PredictInto(ws, bad, final, step); err == nil || !strings.Contains(err.Error(), "length") {
					errs <- fmt.Errorf("worker %d: bad length gave %v", w, err)
					return
				}
				runtime.Gosched()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConcurrentForecasterPredict(t *testing.T) {
	l := simLog(t, 300)
	f, err := NewForecaster(smallForecast())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Fit(l, cutoff); err != nil {
		t.Fatal(err)
	}
	want, err := f.Predict(l, cutoff, 91)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < 2; r++ {
				got, err := f.Predict(l, cutoff, 91)
				if err != nil {
					errs <- err
					return
				}
				if !equalF(got.Spend, want.Spend) || !equalF(got.SpendP90, want.SpendP90) || !equalF(got.PActive, want.PActive) {
					errs <- fmt.Errorf("goroutine %d round %d: prediction differs", w, r)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConcurrentPipelineTransform(t *testing.T) {
	l := simLog(t, 300)
	p, err := NewPipeline(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Fit(l, cutoff); err != nil {
		t.Fatal(err)
	}
	ds, err := p.Transform(l, cutoff, holdoutEnd)
	if err != nil {
		t.Fatal(err)
	}
	want, wantSpend := ds.Batch(), ds.TargetSpend()
	ds.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				ds, err := p.Transform(l, cutoff, holdoutEnd)
				if err != nil {
					errs <- err
					return
				}
				got := ds.Batch()
				same := equalF(got.X, want.X) && equalF(got.Static, want.Static) && equalF(ds.TargetSpend(), wantSpend)
				ds.Close()
				if !same {
					errs <- fmt.Errorf("goroutine %d round %d: dataset differs", w, r)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
