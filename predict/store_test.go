package predict_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

// Both stores have the read path FromStore needs.
var (
	_ predict.StoreReader = (*store.Postgres)(nil)
	_ predict.StoreReader = (*store.SQLite)(nil)
)

func TestFitFromStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "history.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testFitFromStore(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.DatabaseURL(t)
		st, err := store.OpenPostgres(context.Background(), dsn, store.WithSchema(testenv.Schema(t, dsn, "rightsize_predict_forecast")))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testFitFromStore(t, st)
	})
}

// testFitFromStore checks that a model learnt from a store predicts what
// the same model learnt from the series in memory does.
func testFitFromStore(t *testing.T, st store.Store) {
	ctx := context.Background()
	h := fcHistory()
	var batch []rightsize.Sample
	for _, s := range h {
		for i, ti := range s.Times {
			batch = append(batch, rightsize.Sample{Task: s.Task, Service: s.Service, Resource: s.Resource, Value: s.Values[i], Time: ti})
		}
	}
	if err := st.Write(ctx, rightsize.Batch{Samples: batch}); err != nil {
		t.Fatal(err)
	}
	fromStore, _ := predict.NewSelector()
	if err := fromStore.Fit(ctx, predict.FromStore(st, rightsize.Filter{})); err != nil {
		t.Fatal(err)
	}
	inMemory, _ := predict.NewSelector()
	fcFit(t, inMemory, h...)
	if got, want := len(fromStore.Series()), len(h); got != want {
		t.Fatalf("learnt %d series from the store, want %d", got, want)
	}
	for _, svc := range []string{"api", "batch", "idle"} {
		a, err := fromStore.Predict(ctx, predict.Query{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := inMemory.Predict(ctx, predict.Query{Service: svc})
		for i := range a.Resources {
			if a.Resources[i] != b.Resources[i] {
				t.Errorf("%s: from the store %+v, from memory %+v", svc, a.Resources[i], b.Resources[i])
			}
		}
	}
	// A filter narrows what is learnt.
	one, _ := predict.NewLastValue()
	if err := one.Fit(ctx, predict.FromStore(st, rightsize.Filter{Services: []string{"api"}, Resources: []string{"cpu"}})); err != nil {
		t.Fatal(err)
	}
	if got := one.Series(); len(got) != 1 || got[0].Service != "api" || got[0].Resource != "cpu" {
		t.Errorf("filtered: learnt %+v", got)
	}
	empty, _ := predict.NewLastValue()
	if err := empty.Fit(ctx, predict.FromStore(st, rightsize.Filter{Services: []string{"nobody"}})); err == nil {
		t.Error("no series: no error")
	}
}
