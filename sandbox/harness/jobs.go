package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// volsyncJobLabel marks the Jobs VolSync creates for its movers. The harness
// is their Job controller (kube-controller-manager runs without one), so that
// a mover Job gets a pod, and its outcome is written to the Job's status the
// way the Job controller would: succeeded, or failed up to spec.backoffLimit.
const (
	volsyncJobLabel = "app.kubernetes.io/created-by"
	volsyncJobValue = "volsync"
)

type jobController struct {
	client     kubernetes.Interface
	jobs       batchlisters.JobLister
	pods       corelisters.PodLister
	queue      workqueue.TypedRateLimitingInterface[string]
	retryDelay time.Duration
	created    *podExpectations
}

// podExpectations remembers the pod just made for each Job until the pod
// informer shows it, as the real Job controller's expectations do: a sync in
// between (VolSync updates its Job right after creating it) would otherwise
// see no pod yet and make a second one, and two movers would run at once.
type podExpectations struct {
	mu      sync.Mutex
	pending map[string]pendingPod // by Job UID
	timeout time.Duration
}

type pendingPod struct {
	name string
	at   time.Time
}

func newPodExpectations(timeout time.Duration) *podExpectations {
	return &podExpectations{pending: map[string]pendingPod{}, timeout: timeout}
}

// expect records that pod name was created for the Job with this UID.
func (e *podExpectations) expect(jobUID, name string, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pending[jobUID] = pendingPod{name: name, at: now}
}

// settled says whether the Job's pods, as the informer shows them, include
// the last pod made for it (or that pod has been awaited for too long: it was
// deleted before the informer saw it); only then may a sync decide anew.
func (e *podExpectations) settled(jobUID string, pods []*corev1.Pod, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[jobUID]
	if !ok {
		return true
	}
	for _, pod := range pods {
		if pod.Name == p.name {
			delete(e.pending, jobUID)
			return true
		}
	}
	if now.Sub(p.at) > e.timeout {
		delete(e.pending, jobUID)
		return true
	}
	return false
}

func newJobController(client kubernetes.Interface, factory informers.SharedInformerFactory, retryDelay time.Duration) *jobController {
	jobInformer := factory.Batch().V1().Jobs()
	podInformer := factory.Core().V1().Pods()
	c := &jobController{
		client:     client,
		jobs:       jobInformer.Lister(),
		pods:       podInformer.Lister(),
		queue:      workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		retryDelay: retryDelay,
		created:    newPodExpectations(30 * time.Second),
	}
	enqueueJob := func(obj any) {
		if job, ok := obj.(*batchv1.Job); ok && job.Labels[volsyncJobLabel] == volsyncJobValue {
			c.queue.Add(job.Namespace + "/" + job.Name)
		}
	}
	_, _ = jobInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueJob,
		UpdateFunc: func(_, obj any) { enqueueJob(obj) },
	})
	enqueueOwner := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		if owner := metav1.GetControllerOf(pod); owner != nil && owner.Kind == "Job" {
			c.queue.Add(pod.Namespace + "/" + owner.Name)
		}
	}
	_, _ = podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueOwner,
		UpdateFunc: func(_, obj any) { enqueueOwner(obj) },
		DeleteFunc: enqueueOwner,
	})
	return c
}

func (c *jobController) run(ctx context.Context) {
	runQueue(ctx, c.queue, 1, "job", c.sync)
}

func (c *jobController) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	job, err := c.jobs.Jobs(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // its pods go with it (garbage collector)
	}
	if err != nil {
		return err
	}
	if job.Labels[volsyncJobLabel] != volsyncJobValue || job.DeletionTimestamp != nil || jobFinished(job) {
		return nil
	}
	if ptr.Deref(job.Spec.Suspend, false) {
		return nil
	}

	pods, err := c.ownedPods(job)
	if err != nil {
		return err
	}
	if !c.created.settled(string(job.UID), pods, time.Now()) {
		c.queue.AddAfter(key, 100*time.Millisecond) // the pod informer catches up
		return nil
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	decision := decideJob(job, pods, now, c.retryDelay)
	if decision.createPod {
		pod, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, podForJob(job), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create pod: %w", err)
		}
		c.created.expect(string(job.UID), pod.Name, time.Now())
		klog.Infof("job %s: created pod %s (failed so far: %d, backoffLimit: %d)", key, pod.Name,
			decision.status.Failed, ptr.Deref(job.Spec.BackoffLimit, 6))
	}
	for _, pod := range decision.deletePods {
		err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue // gone already, or another pod of that name
		}
		if err != nil {
			return fmt.Errorf("delete pod %s: %w", pod.Name, err)
		}
		klog.Infof("job %s: parallelism %d: deleted active pod %s", key, ptr.Deref(job.Spec.Parallelism, 1), pod.Name)
	}
	if decision.requeueAfter > 0 {
		c.queue.AddAfter(key, decision.requeueAfter)
	}
	if apiequality.Semantic.DeepEqual(decision.status, job.Status) {
		return nil
	}
	updated := job.DeepCopy()
	updated.Status = decision.status
	if _, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			c.queue.Add(key)
			return nil
		}
		return fmt.Errorf("update status: %w", err)
	}
	if jobFinished(updated) {
		klog.Infof("job %s: finished (succeeded=%d failed=%d)", key, updated.Status.Succeeded, updated.Status.Failed)
	}
	return nil
}

func (c *jobController) ownedPods(job *batchv1.Job) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil || job.Spec.Selector == nil {
		selector = labels.SelectorFromSet(labels.Set{"job-name": job.Name})
	}
	all, err := c.pods.Pods(job.Namespace).List(selector)
	if err != nil {
		return nil, err
	}
	var owned []*corev1.Pod
	for _, pod := range all {
		if owner := metav1.GetControllerOf(pod); owner != nil && owner.UID == job.UID {
			owned = append(owned, pod)
		}
	}
	return owned, nil
}

type jobDecision struct {
	status       batchv1.JobStatus
	createPod    bool
	deletePods   []*corev1.Pod // active pods beyond spec.parallelism
	requeueAfter time.Duration
}

// decideJob is the Job controller's step for a non-indexed, one-pod Job: the
// next status, and whether a new pod must be made or active pods deleted. Like
// the Job controller it retries until status.failed exceeds spec.backoffLimit
// (VolSync itself gives up, deletes the Job and reports Failed once failed
// reaches the limit), but after retryDelay instead of an exponential back-off.
// spec.parallelism 0 (VolSync pauses a source so) wants no pod: none is made
// and active ones are deleted; nil means 1, and more than one pod is never
// made. A status that finishes the Job carries the conditions the API server
// requires since 1.31: SuccessCriteriaMet before Complete, FailureTarget
// before Failed.
func decideJob(job *batchv1.Job, pods []*corev1.Pod, now metav1.Time, retryDelay time.Duration) jobDecision {
	status := *job.Status.DeepCopy()
	var succeeded, failed int32
	var activePods []*corev1.Pod
	var lastFailure time.Time
	for _, pod := range pods {
		switch {
		case pod.Status.Phase == corev1.PodSucceeded:
			succeeded++
		case pod.Status.Phase == corev1.PodFailed:
			failed++
			for _, cs := range pod.Status.ContainerStatuses {
				if t := cs.State.Terminated; t != nil && t.FinishedAt.After(lastFailure) {
					lastFailure = t.FinishedAt.Time
				}
			}
		case pod.DeletionTimestamp != nil:
			// on its way out: neither active nor counted (the Job controller
			// would count it failed; status.failed here counts failed pods only)
		default:
			activePods = append(activePods, pod)
		}
	}
	active := int32(len(activePods))
	if status.StartTime == nil {
		status.StartTime = &now
	}
	status.Active = active
	status.Ready = ptr.To[int32](0)
	if failed > status.Failed {
		status.Failed = failed
	}
	if succeeded > status.Succeeded {
		status.Succeeded = succeeded
	}
	backoffLimit := ptr.Deref(job.Spec.BackoffLimit, 6)

	switch {
	case status.Succeeded > 0 && active == 0:
		status.CompletionTime = &now
		status.Conditions = append(status.Conditions,
			jobCondition(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods", now),
			jobCondition(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods", now))
		return jobDecision{status: status}
	case status.Failed > backoffLimit:
		if active > 0 {
			return jobDecision{status: status}
		}
		status.Conditions = append(status.Conditions,
			jobCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now),
			jobCondition(batchv1.JobFailed, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now))
		return jobDecision{status: status}
	}
	if ptr.Deref(job.Spec.Parallelism, 1) == 0 {
		status.Active = 0
		return jobDecision{status: status, deletePods: activePods}
	}
	if active > 0 {
		return jobDecision{status: status}
	}
	if wait := lastFailure.Add(retryDelay).Sub(now.Time); failed > 0 && wait > 0 {
		return jobDecision{status: status, requeueAfter: wait}
	}
	status.Active = 1
	return jobDecision{status: status, createPod: true}
}

func jobCondition(typ batchv1.JobConditionType, reason, message string, now metav1.Time) batchv1.JobCondition {
	return batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: now, LastTransitionTime: now}
}

func jobFinished(job *batchv1.Job) bool {
	for _, cond := range job.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// podForJob is the pod the Job controller makes from the Job's template.
func podForJob(job *batchv1.Job) *corev1.Pod {
	template := job.Spec.Template.DeepCopy()
	podLabels := map[string]string{}
	for k, v := range template.Labels {
		podLabels[k] = v
	}
	podLabels["job-name"] = job.Name
	podLabels[batchv1.JobNameLabel] = job.Name
	podLabels["controller-uid"] = string(job.UID)
	podLabels[batchv1.ControllerUidLabel] = string(job.UID)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-",
			Namespace:    job.Namespace,
			Labels:       podLabels,
			Annotations:  template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         "batch/v1",
				Kind:               "Job",
				Name:               job.Name,
				UID:                job.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: template.Spec,
	}
}
