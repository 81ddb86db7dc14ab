package cli

import (
	"errors"

	"github.com/rightsize/rightsize/pipeline"
)

// PipelineOptions turns the Kafka flags into the options of an
// all-in-one program's pipeline: the brokers (none: the pipeline starts
// an in-process broker), the topic and the security settings. Security
// flags without -brokers are refused: the in-process broker has no TLS
// or SASL, so they would be ignored.
func (k *Kafka) PipelineOptions() ([]pipeline.Option, error) {
	popts, err := k.ProducerOptions()
	if err != nil {
		return nil, err
	}
	copts, err := k.ConsumerOptions()
	if err != nil {
		return nil, err
	}
	addrs := k.Addrs()
	if len(addrs) == 0 && (len(popts) > 0 || len(copts) > 0) {
		return nil, errors.New("TLS and SASL flags need -brokers: the in-process broker started without it speaks plaintext")
	}
	topic := k.Topic
	if topic == "" {
		topic = DefaultTopic
	}
	return []pipeline.Option{pipeline.WithBrokers(addrs...), pipeline.WithTopic(topic),
		pipeline.WithProducerOptions(popts...), pipeline.WithConsumerOptions(copts...)}, nil
}
