package consumer

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// adjustOffsets starts every assigned partition at the offset the store
// holds for it, where it holds one.
func (c *Consumer) adjustOffsets(ctx context.Context, assigned map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ids, err := c.topicIDs(ctx, slices.Collect(maps.Keys(assigned)))
	if err != nil {
		c.cfg.logger.Error("reading topic IDs; will rejoin and retry", "err", err)
		return nil, err
	}
	for topic, parts := range assigned {
		stored, err := c.store.Offsets(ctx, topic, ids[topic])
		if err != nil {
			// Without the stored offsets the consumer must not read:
			// the group would start where its commits say, and a commit
			// can lag the store. Failing makes the client rejoin and
			// ask again.
			c.cfg.logger.Error("reading stored offsets; will rejoin and retry", "topic", topic, "err", err)
			return nil, fmt.Errorf("consumer: stored offsets of %s: %w", topic, err)
		}
		for p := range parts {
			if off, ok := stored[p]; ok {
				parts[p] = kgo.NewOffset().At(off).WithEpoch(-1)
			}
		}
	}
	return assigned, nil
}

// topicIDs returns the ID of each topic, as OffsetRange.TopicID spells it.
func (c *Consumer) topicIDs(ctx context.Context, topics []string) (map[string]string, error) {
	details, err := c.admin.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("consumer: topic IDs of %s: %w", strings.Join(topics, ","), err)
	}
	ids := make(map[string]string, len(topics))
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil {
			return nil, fmt.Errorf("consumer: topic ID of %s: %v", t, d.Err)
		}
		ids[t] = topicID(d.ID)
	}
	return ids, nil
}

// topicID spells a topic ID as OffsetRange.TopicID does: hex, or "" for a
// cluster that has none.
func topicID(id [16]byte) string {
	if id == [16]byte{} {
		return ""
	}
	return hex.EncodeToString(id[:])
}
