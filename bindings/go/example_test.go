package clv_test

import (
	"errors"
	"fmt"

	clv "github.com/libclv/clv-go"
)

func ExampleParseDay() {
	d, err := clv.ParseDay("19970930")
	if err != nil {
		panic(err)
	}
	fmt.Println(int32(d), d, d+1)
	_, err = clv.ParseDay("1997-02-30")
	fmt.Println(errors.Is(err, clv.ErrFormat))
	// Output:
	// 10134 1997-09-30 1997-10-01
	// true
}

func ExampleEvaluate() {
	m, err := clv.Evaluate([]float32{1, 2, 3, 4}, []float32{1, 2, 3, 5})
	if err != nil {
		panic(err)
	}
	fmt.Printf("MAE %.2f RMSE %.2f spend %+.1f%%\n", m.MAE, m.RMSE, m.TotalPctError)
	// Output: MAE 0.25 RMSE 0.50 spend -9.1%
}

func ExampleError() {
	_, err := clv.NewModel(clv.DefaultModelOptions()) // no InputSize
	var e *clv.Error
	if errors.As(err, &e) && errors.Is(err, clv.ErrInvalid) {
		fmt.Println(e.Status == clv.ErrInvalid, e.Message != "")
	}
	// Output: true true
}
