package imagetask

import "github.com/rightsize/rightsize/predict"

// ProfileFeatures are the task parameters the pipeline's regression learns
// from: the pixel count, the input's size in bytes and its format.
var ProfileFeatures = []string{"width*height", "bytes", "format"}

// ProfileGroups keep the tasks of one image size in one calibration fold,
// so that the upper level is calibrated on sizes the fit did not see.
var ProfileGroups = []string{"width", "height"}

// NewProfiler returns the regression profiler for the pipeline's tasks.
func NewProfiler(opts ...predict.ProfileOption) (*predict.RegressionProfiler, error) {
	return predict.NewRegressionProfiler(append([]predict.ProfileOption{
		predict.WithProfileFeatures(ProfileFeatures...), predict.WithProfileGroups(ProfileGroups...)}, opts...)...)
}

// Models returns the task-profile models compared on the pipeline: the
// seed's regression on time, the historical max and the regression.
func Models() ([]predict.NamedProfiler, error) {
	reg, err := NewProfiler()
	if err != nil {
		return nil, err
	}
	return []predict.NamedProfiler{
		{Name: "seed: linear in time", Profiler: predict.NewTimeTrendProfiler()},
		{Name: "historical max", Profiler: predict.NewMaxProfiler()},
		{Name: "regression", Profiler: reg},
	}, nil
}
