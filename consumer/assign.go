package consumer

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// adjustOffsets starts every assigned partition at the offset the store
// holds for it, where it holds one, and remembers it: the partition's
// worker expects its first record there.
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
	starts := map[topicPartition]int64{}
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
				starts[topicPartition{topic, p}] = off
			}
		}
	}
	c.mu.Lock()
	maps.Copy(c.startAt, starts)
	c.mu.Unlock()
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

// assigned logs what the group gave this member. Workers start when
// their partition's first records arrive.
func (c *Consumer) assigned(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	c.cfg.logger.Info("partitions assigned", "group", c.cfg.group, "partitions", describe(parts))
}

// revoked stops the workers of partitions the group takes away, letting
// each finish the write in hand (bounded by the rebalance timeout), and
// commits what they delivered.
func (c *Consumer) revoked(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	c.cfg.logger.Info("partitions revoked", "group", c.cfg.group, "partitions", describe(parts))
	c.stopWorkers(parts)
	if c.store == nil {
		// Without a store the group's commits are the only record of
		// what was delivered: make sure they are in before the next
		// owner starts.
		c.commitDoneSync(ctx, parts)
	}
}

// lost stops the workers of partitions this member lost without a
// revoke (its session expired): another member may already own them.
func (c *Consumer) lost(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	c.cfg.logger.Warn("partitions lost (session expired?)", "group", c.cfg.group, "partitions", describe(parts))
	c.stopWorkers(parts)
}

// worker returns the worker of tp, starting one if tp has none; nil once
// Run has ended.
func (c *Consumer) worker(tp topicPartition) *worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.workers[tp]; w != nil {
		return w
	}
	if c.runCtx == nil || c.runCtx.Err() != nil {
		return nil
	}
	start, known := c.startAt[tp]
	delete(c.startAt, tp)
	w := newWorker(c, tp, start, known)
	c.workers[tp] = w
	c.workWG.Add(1)
	go func() {
		defer c.workWG.Done()
		w.run()
	}()
	return w
}

// stopWorkers stops the workers of parts (nil: every worker) and waits
// until they have finished.
func (c *Consumer) stopWorkers(parts map[string][]int32) {
	c.mu.Lock()
	var stopping []*worker
	for tp, w := range c.workers {
		if parts == nil || slices.Contains(parts[tp.topic], tp.partition) {
			stopping = append(stopping, w)
			delete(c.workers, tp)
		}
	}
	c.mu.Unlock()
	for _, w := range stopping {
		w.stop()
	}
	for _, w := range stopping {
		<-w.finished
	}
}

// delivered records that a partition's records before next reached the
// sinks.
func (c *Consumer) delivered(tp topicPartition, next int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done[tp.topic] == nil {
		c.done[tp.topic] = map[int32]int64{}
	}
	c.done[tp.topic][tp.partition] = next
}

// doneOffsets returns what was delivered, by topic and partition, of
// parts (nil: all).
func (c *Consumer) doneOffsets(parts map[string][]int32) map[string]map[int32]kgo.EpochOffset {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[int32]kgo.EpochOffset{}
	for t, m := range c.done {
		for p, off := range m {
			if parts != nil && !slices.Contains(parts[t], p) {
				continue
			}
			if out[t] == nil {
				out[t] = map[int32]kgo.EpochOffset{}
			}
			out[t][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	return out
}

// commitDone commits the delivered offsets to the group, without
// waiting. With a store they only serve tools that read the group's
// lag; without one they are where a restart resumes.
func (c *Consumer) commitDone(ctx context.Context) {
	offs := c.doneOffsets(nil)
	if len(offs) == 0 {
		return
	}
	c.client.CommitOffsets(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil && ctx.Err() == nil && !kerr.IsRetriable(err) {
			c.logOnce("commit:"+err.Error(), "committing offsets to the group", "err", err)
		}
	})
}

// commitDoneSync commits the delivered offsets of parts and waits.
func (c *Consumer) commitDoneSync(ctx context.Context, parts map[string][]int32) {
	offs := c.doneOffsets(parts)
	if len(offs) == 0 {
		return
	}
	c.client.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			c.cfg.logger.Warn("committing offsets before giving partitions up", "err", err)
		}
	})
}

// leaveStatic leaves the group as a static member (kgo does not on
// Close), so that the partitions move to the others now rather than at
// the end of the session timeout.
//
// It runs after the client has closed (a member that left while still
// running would rejoin), through a short-lived client of its own.
func (c *Consumer) leaveStatic() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(c.connOpts...)
	if err != nil {
		c.cfg.logger.Warn("leaving the group", "group", c.cfg.group, "instance", c.cfg.instanceID, "err", err)
		return
	}
	defer cl.Close()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = c.cfg.group
	m := kmsg.NewLeaveGroupRequestMember()
	m.InstanceID = kmsg.StringPtr(c.cfg.instanceID)
	m.Reason = kmsg.StringPtr("rightsize consumer closing")
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err == nil && len(resp.Members) > 0 {
		err = kerr.ErrorForCode(resp.Members[0].ErrorCode)
	}
	if err != nil {
		c.cfg.logger.Warn("leaving the group", "group", c.cfg.group, "instance", c.cfg.instanceID, "err", err)
		return
	}
	c.cfg.logger.Info("left the group", "group", c.cfg.group, "instance", c.cfg.instanceID)
}

func describe(parts map[string][]int32) string {
	var b strings.Builder
	for _, t := range slices.Sorted(maps.Keys(parts)) {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		ps := slices.Sorted(slices.Values(parts[t]))
		fmt.Fprintf(&b, "%s%v", t, ps)
	}
	return b.String()
}
