package ecs

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file holds the agent channel's assignment queues: which tasks each
// queue serves and the sequence that says when its desired state changed
// (see package agentproto for the protocol). An EC2 queue is one container
// instance; the FARGATE queue is one per server, for every tenant.
//
// Table "ecs.queues" (store.System):
//
//	seq/ec2/<account>/<region>/<cluster>/<instanceID>          queueRec
//	seq/fargate                                                 queueRec
//	task/ec2/<account>/<region>/<cluster>/<instanceID>/<taskID> {} (a task not yet STOPPED)
//	task/fargate/<account>/<region>/<cluster>/<taskID>          {}
//
// The task entries are written in the transaction that creates the task and
// deleted in the one that stops it, so a poll reads its queue's tasks
// without scanning a cluster. The sequence is bumped in the transaction
// that changes what the queue's agent must do; the in-memory notifier only
// wakes waiting polls after the commit.
var tblQueues = store.Table{Name: "ecs.queues", Scope: store.System}

// queueRec is a queue's assignment sequence.
type queueRec struct {
	Seq int64 `json:"seq"`
}

// queueID names a queue.
type queueID struct {
	fargate                  bool
	account, region, cluster string
	instance                 string // EC2 queues
}

// key identifies the queue in the notifier and the agent book.
func (q queueID) key() string {
	if q.fargate {
		return "fargate"
	}
	return "ec2/" + q.account + "/" + q.region + "/" + q.cluster + "/" + q.instance
}

func (q queueID) seqKey() string { return "seq/" + q.key() }

// taskPrefix is the prefix of the queue's task entries; for the FARGATE
// queue, of every tenant's.
func (q queueID) taskPrefix() string { return "task/" + q.key() + "/" }

// taskEntry is the key of a task's entry in its queue.
func (q queueID) taskEntry(t *taskRec) string {
	if q.fargate {
		return "task/fargate/" + q.account + "/" + q.region + "/" + t.Cluster + "/" + t.ID
	}
	return q.taskPrefix() + t.ID
}

// ec2Queue is the queue of a container instance of the tenant of ctx.
func ec2Queue(ctx context.Context, cluster, instance string) queueID {
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	return queueID{account: acct, region: region, cluster: cluster, instance: instance}
}

// taskQueue is the queue that serves t ("", false for a task on no queue).
func taskQueue(ctx context.Context, t *taskRec) (queueID, bool) {
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	switch {
	case t.LaunchType == "FARGATE":
		return queueID{fargate: true, account: acct, region: region}, true
	case t.Instance != "":
		return queueID{account: acct, region: region, cluster: t.Cluster, instance: t.Instance}, true
	}
	return queueID{}, false
}

// parseQueueKey reads an EC2 queue key ("ec2/acct/region/cluster/id").
func parseQueueKey(key string) (queueID, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 5 || parts[0] != "ec2" {
		return queueID{}, false
	}
	return queueID{account: parts[1], region: parts[2], cluster: parts[3], instance: parts[4]}, true
}

// parseFargateEntry reads a FARGATE task entry
// ("task/fargate/acct/region/cluster/taskID").
func parseFargateEntry(key string) (acct, region, cluster, id string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 6 || parts[0] != "task" || parts[1] != "fargate" {
		return "", "", "", "", false
	}
	return parts[2], parts[3], parts[4], parts[5], true
}

func queueSeq(tx store.Tx, q queueID) (int64, error) {
	it, err := tx.Get(tblQueues, q.seqKey())
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var r queueRec
	if err := json.Unmarshal(it.Value, &r); err != nil {
		return 0, err
	}
	return r.Seq, nil
}

// bumpQueue raises q's sequence in tx and has w wake its polls after the
// commit.
func bumpQueue(tx store.Tx, w *wakes, q queueID) error {
	seq, err := queueSeq(tx, q)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(queueRec{Seq: seq + 1})
	if _, err := tx.Put(tblQueues, q.seqKey(), b); err != nil {
		return err
	}
	w.add(q.key())
	return nil
}

// ensureQueue creates q's sequence record if it has none, so the agent
// monitor knows the instance after a restart.
func ensureQueue(tx store.Tx, q queueID) error {
	if _, err := tx.Get(tblQueues, q.seqKey()); !isNotFound(err) {
		return err
	}
	_, err := tx.Put(tblQueues, q.seqKey(), []byte(`{"seq":0}`))
	return err
}

func enqueue(tx store.Tx, q queueID, t *taskRec) error {
	_, err := tx.Put(tblQueues, q.taskEntry(t), []byte("{}"))
	return err
}

func dequeue(tx store.Tx, q queueID, t *taskRec) error {
	if err := tx.Delete(tblQueues, q.taskEntry(t)); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// wakes collects the queues a transaction bumped, to wake their polls once
// it committed (waking earlier could let a poll read the old state and
// sleep through the change).
type wakes struct{ keys []string }

func (w *wakes) add(key string) {
	if w != nil {
		w.keys = append(w.keys, key)
	}
}

// commit runs fn in a read-write transaction and, once it committed, wakes
// the polls of the queues fn bumped.
func (s *Service) commit(ctx context.Context, fn func(tx store.Tx, w *wakes) error) error {
	var w wakes
	err := s.update(ctx, func(tx store.Tx) error {
		w.keys = w.keys[:0]
		return fn(tx, &w)
	})
	if err == nil {
		for _, k := range w.keys {
			s.notify.wake(k)
		}
	}
	return err
}

// notifier wakes the polls waiting on a queue. It carries no state: a
// poll re-reads its queue from the store after every wake-up.
type notifier struct {
	mu     sync.Mutex
	chans  map[string]chan struct{}
	closed chan struct{}
	once   sync.Once
	// onWake, when set, is told every woken key (the agent book uses it to
	// re-judge a lost instance that got new tasks).
	onWake func(key string)
}

func newNotifier() *notifier {
	return &notifier{chans: map[string]chan struct{}{}, closed: make(chan struct{})}
}

// watch returns a channel closed at the next wake of key. Take it before
// reading the queue.
func (n *notifier) watch(key string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.chans[key]
	if !ok {
		ch = make(chan struct{})
		n.chans[key] = ch
	}
	return ch
}

func (n *notifier) wake(key string) {
	n.mu.Lock()
	ch, ok := n.chans[key]
	delete(n.chans, key)
	n.mu.Unlock()
	if ok {
		close(ch)
	}
	if n.onWake != nil {
		n.onWake(key)
	}
}

// close ends every wait for good (server shutdown).
func (n *notifier) close() { n.once.Do(func() { close(n.closed) }) }
