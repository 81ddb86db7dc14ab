// Package kafkaconn holds what the producer and the consumer share about
// connecting to Kafka: checking that a broker answers, and how that
// failure is reported.
package kafkaconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
)

// Ping checks that a broker of brokers answers through client within
// timeout (or before ctx ends). Its error is a *rightsize.UnreachableError
// naming the brokers.
//
// With SASL credentials in sec, a refusal of them is an *AuthError naming
// the mechanism and user instead.
func Ping(ctx context.Context, client *kgo.Client, brokers []string, timeout time.Duration, sec Security) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := client.Ping(ctx)
	if err == nil {
		return nil
	}
	if err := sec.authFailure(err); errors.Is(err, rightsize.ErrAuthentication) {
		return err
	}
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %v", timeout)
	}
	return &rightsize.UnreachableError{What: "Kafka broker", Addrs: brokers, Err: scrub(err, sec.Password)}
}
