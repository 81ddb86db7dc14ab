package live

import (
	"time"

	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/predict"
)

// Forecast turns a prediction's forecast of resource into what a chart
// draws: the point forecast as a line over the horizon, from its start,
// and a band from it up to the upper level. It returns nil when the
// prediction has no forecast of resource. Set it as a panel's Forecast:
//
//	pred, err := model.Predict(ctx, predict.Query{Service: "resize"})
//	for i := range panels {
//		panels[i].Forecast = live.Forecast(pred, panels[i].Resource)
//	}
func Forecast(p predict.Prediction, resource string) *chart.Forecast {
	r, ok := p.Resource(resource)
	if !ok || p.Horizon <= 0 {
		return nil
	}
	return &chart.Forecast{
		Name:   p.Model,
		Times:  []time.Time{r.From, r.From.Add(p.Horizon)},
		Values: []float64{r.Point, r.Point},
		Lower:  []float64{r.Point, r.Point},
		Upper:  []float64{r.Upper, r.Upper},
	}
}
