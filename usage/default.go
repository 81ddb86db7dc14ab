package usage

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/rightsize/rightsize/store"
)

// DefaultDSN is the store the default estimator opens when
// RIGHTSIZE_DATABASE_URL is unset: the embedded file in the working
// directory.
const DefaultDSN = "sqlite:rightsize.db"

var (
	defaultMu  sync.Mutex
	defaultEst UsageEstimator
)

// Default returns the package-level estimator, opening it on first use
// from RIGHTSIZE_DATABASE_URL (DefaultDSN when unset). A failure to open is
// returned, not remembered: the next call tries again.
func Default(ctx context.Context) (UsageEstimator, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultEst != nil {
		return defaultEst, nil
	}
	dsn := os.Getenv("RIGHTSIZE_DATABASE_URL")
	if dsn == "" {
		dsn = DefaultDSN
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("usage: default estimator: %w", err)
	}
	e, err := New(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	defaultEst = e
	return e, nil
}

// SetDefault makes e the package-level estimator (nil: open it again from
// the environment on next use). The estimator it replaces is not closed.
func SetDefault(e UsageEstimator) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultEst = e
}

// Expected asks the default estimator what service is expected to use.
func Expected(ctx context.Context, service string, opts ...Option) (Usage, error) {
	e, err := Default(ctx)
	if err != nil {
		return Usage{}, err
	}
	return e.Expected(ctx, service, opts...)
}

// Recommend asks the default estimator what service should request.
func Recommend(ctx context.Context, service string, opts ...Option) (Recommendation, error) {
	e, err := Default(ctx)
	if err != nil {
		return Recommendation{}, err
	}
	return e.Recommend(ctx, service, opts...)
}
