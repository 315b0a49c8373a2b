package main

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// runQueue is the loop every controller of the harness runs: `workers`
// goroutines take keys from queue and call sync for each, until ctx ends. A
// key whose sync fails is retried with the queue's backoff (logged as
// "<what> <key>: <error>" unless the harness is stopping); one that succeeds
// is forgotten by the rate limiter.
func runQueue(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string], workers int, what string, sync func(context.Context, string) error) {
	defer queue.ShutDown()
	next := func() bool {
		key, quit := queue.Get()
		if quit {
			return false
		}
		defer queue.Done(key)
		if err := sync(ctx, key); err != nil {
			if ctx.Err() == nil {
				klog.Warningf("%s %s: %v", what, key, err)
			}
			queue.AddRateLimited(key)
			return true
		}
		queue.Forget(key)
		return true
	}
	for i := 0; i < workers; i++ {
		go func() {
			for next() {
			}
		}()
	}
	<-ctx.Done()
}
