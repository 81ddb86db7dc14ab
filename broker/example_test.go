package broker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize/broker"
)

// Start a broker on a free loopback port, publish a record and read it
// back, as any Kafka client would.
func Example() {
	b, err := broker.Start() // "resources" and "resources.dlq", 4 partitions each
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	fmt.Println("topics:", b.Topics())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...),
		kgo.ConsumeTopics(broker.DefaultTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: broker.DefaultTopic, Key: []byte("img7 resize CPU"), Value: []byte("37.5")}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		fmt.Println(err)
		return
	}
	for read := false; !read && ctx.Err() == nil; {
		for _, r := range cl.PollFetches(ctx).Records() {
			fmt.Printf("read %s = %s\n", r.Key, r.Value)
			read = true
		}
	}
	// Output:
	// topics: [resources resources.dlq]
	// read img7 resize CPU = 37.5
}
