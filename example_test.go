package rightsize_test

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rightsize/rightsize"
)

func ExampleSample_Validate() {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	good := rightsize.Sample{Service: "resize", Resource: rightsize.CPU, Value: 0.25, Time: at}
	fmt.Println(good.Validate())
	for _, bad := range []rightsize.Sample{
		{Service: "resize", Resource: "CPU", Value: 0.25, Time: at},
		{Service: "resize", Resource: rightsize.CPU, Value: math.NaN(), Time: at},
		{Service: "resize", Resource: rightsize.CPU, Value: 1, Time: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		err := bad.Validate()
		var se *rightsize.SampleError
		fmt.Println(errors.Is(err, rightsize.ErrInvalidSample), errors.As(err, &se) && se.Field != "", err)
	}
	// Output:
	// <nil>
	// true true invalid sample: Resource resource name "CPU" has 'C': only lower-case letters, digits, '.', '-', '_' and '/' are allowed
	// true true invalid sample: Value of cpu is NaN
	// true true invalid sample: Time 9999-12-31T00:00:00Z is outside the years 1678 to 2262
}

func ExampleBatch_Parts() {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := func(v float64) rightsize.Sample {
		return rightsize.Sample{Service: "a", Resource: "cpu", Value: v, Time: at}
	}
	b := rightsize.Batch{
		Samples: []rightsize.Sample{s(1), s(2), s(3)},
		Ranges: []rightsize.OffsetRange{
			{Topic: "resources", Partition: 0, From: 10, To: 12, Samples: 2},
			{Topic: "resources", Partition: 3, From: 7, To: 9, Samples: 1}, // two records, one sample
		},
	}
	b.Parts(func(r rightsize.OffsetRange, samples []rightsize.Sample) error {
		fmt.Println(r, len(samples))
		return nil
	})
	// Output:
	// resources/0[10,12) 2
	// resources/3[7,9) 1
}
