package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// podController binds pods to the node and plays the kubelet for them.
type podController struct {
	client  kubernetes.Interface
	lister  corelisters.PodLister
	claims  corelisters.PersistentVolumeClaimLister
	queue   workqueue.TypedRateLimitingInterface[string]
	node    string
	runtime *containerRuntime

	mu   sync.Mutex
	runs map[types.UID]*podRun
}

// podRun is what the harness knows of a pod it has started.
type podRun struct {
	key      string
	runnable bool
	started  metav1.Time
	finished *metav1.Time
	failed   bool
	waiting  string // the waiting message while the pod cannot start (CreateContainerConfigError, or waitingReason)
	// waitingReason: the waiting reason when it is not CreateContainerConfigError (ErrImagePull)
	waitingReason string
	containers    map[string]*containerRun
	dir           string
}

type containerRun struct {
	logPath string
	proc    *process
	started metav1.Time
	// spec is how the container was started (exec runs its commands the same way)
	spec *processSpec
}

func newPodController(client kubernetes.Interface, factory informers.SharedInformerFactory, node string, rt *containerRuntime) *podController {
	informer := factory.Core().V1().Pods()
	c := &podController{
		client:  client,
		lister:  informer.Lister(),
		claims:  factory.Core().V1().PersistentVolumeClaims().Lister(),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		node:    node,
		runtime: rt,
		runs:    map[types.UID]*podRun{},
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	_, _ = informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	})
	return c
}

func (c *podController) run(ctx context.Context) {
	runQueue(ctx, c.queue, 4, "pod", c.sync)
}

func (c *podController) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.lister.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.forgetKey(key)
		return nil
	}
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp != nil {
			return nil
		}
		// the scheduler places no pod before its claims are Bound
		if unbound := unboundClaim(pod, c.claimOf(pod.Namespace)); unbound != "" {
			c.queue.AddAfter(key, 500*time.Millisecond)
			return c.markUnschedulable(ctx, pod, unbound)
		}
		return c.bind(ctx, pod)
	}
	if pod.Spec.NodeName != c.node {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		return c.terminate(ctx, pod)
	}

	c.mu.Lock()
	run := c.runs[pod.UID]
	c.mu.Unlock()
	if run == nil && (pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending) {
		// nor does the kubelet start one (a pod made with spec.nodeName)
		if unboundClaim(pod, c.claimOf(pod.Namespace)) != "" {
			c.queue.AddAfter(key, 500*time.Millisecond)
			return nil
		}
	}
	if run == nil || run.waiting != "" {
		run = c.start(ctx, pod)
		c.mu.Lock()
		c.runs[pod.UID] = run
		c.mu.Unlock()
		if run.waiting != "" {
			c.queue.AddAfter(key, 2*time.Second)
		}
	}
	return c.updateStatus(ctx, pod, run)
}

func (c *podController) bind(ctx context.Context, pod *corev1.Pod) error {
	binding := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: c.node},
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // already bound or gone; the informer tells us what happened
	}
	if err == nil {
		klog.Infof("bound pod %s/%s to %s", pod.Namespace, pod.Name, c.node)
	}
	return err
}

func (c *podController) claimOf(namespace string) func(string) (*corev1.PersistentVolumeClaim, error) {
	return func(name string) (*corev1.PersistentVolumeClaim, error) {
		return c.claims.PersistentVolumeClaims(namespace).Get(name)
	}
}

// unboundClaim says why the pod's volumes are not there yet ("" when every
// PersistentVolumeClaim it mounts is Bound), as the scheduler says it.
func unboundClaim(pod *corev1.Pod, claimOf func(string) (*corev1.PersistentVolumeClaim, error)) string {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		name := v.PersistentVolumeClaim.ClaimName
		claim, err := claimOf(name)
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Sprintf("persistentvolumeclaim %q not found", name)
		case err != nil:
			return fmt.Sprintf("persistentvolumeclaim %q: %v", name, err)
		case claim.DeletionTimestamp != nil:
			return fmt.Sprintf("persistentvolumeclaim %q is being deleted", name)
		case claim.Status.Phase != corev1.ClaimBound:
			return "pod has unbound immediate PersistentVolumeClaims"
		}
	}
	return ""
}

// markUnschedulable writes the PodScheduled condition the scheduler writes
// for a pod it cannot place yet.
func (c *podController) markUnschedulable(ctx context.Context, pod *corev1.Pod, why string) error {
	message := "0/1 nodes are available: " + why + "."
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Message == message {
			return nil
		}
	}
	updated := pod.DeepCopy()
	updated.Status.Phase = corev1.PodPending
	setCondition(&updated.Status, corev1.PodScheduled, false, corev1.PodReasonUnschedulable, nowSeconds())
	for i := range updated.Status.Conditions {
		if updated.Status.Conditions[i].Type == corev1.PodScheduled {
			updated.Status.Conditions[i].Message = message
		}
	}
	_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		klog.Infof("pod %s/%s: not scheduled yet: %s", pod.Namespace, pod.Name, why)
	}
	return err
}

// terminate stops the pod's processes and removes the pod, as the kubelet does
// once its containers have stopped.
func (c *podController) terminate(ctx context.Context, pod *corev1.Pod) error {
	c.mu.Lock()
	run := c.runs[pod.UID]
	c.mu.Unlock()
	if run != nil {
		grace := 5 * time.Second
		if pod.DeletionGracePeriodSeconds != nil && time.Duration(*pod.DeletionGracePeriodSeconds)*time.Second < grace {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		for _, cr := range run.containers {
			if cr.proc != nil {
				cr.proc.stop(grace)
			}
		}
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		err = nil
	}
	if err == nil {
		klog.Infof("deleted pod %s/%s", pod.Namespace, pod.Name)
	}
	return err
}

func (c *podController) forgetKey(key string) {
	c.mu.Lock()
	var gone []*podRun
	for uid, run := range c.runs {
		if run.key == key {
			gone = append(gone, run)
			delete(c.runs, uid)
		}
	}
	c.mu.Unlock()
	for _, run := range gone {
		for _, cr := range run.containers {
			if cr.proc != nil {
				cr.proc.stop(time.Second)
			}
		}
		if run.dir != "" {
			// Gone from the API: its logs, emptyDirs and root go too, as with a kubelet.
			_ = os.RemoveAll(run.dir)
		}
	}
}

func (c *podController) podDir(pod *corev1.Pod) string {
	return filepath.Join(c.runtime.dataDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// start runs the pod's containers, or records an application pod as running.
func (c *podController) start(ctx context.Context, pod *corev1.Pod) *podRun {
	key := pod.Namespace + "/" + pod.Name
	run := &podRun{key: key, started: nowSeconds(), containers: map[string]*containerRun{}, dir: c.podDir(pod)}
	for _, ctr := range pod.Spec.Containers {
		if _, ok := entrypoint(ctr, c.runtime.moverImage); ok {
			run.runnable = true
		}
	}

	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		// Finished before the harness (re)started: nothing to run.
		run.finished, run.failed = &run.started, pod.Status.Phase == corev1.PodFailed
		return run
	case corev1.PodRunning:
		if run.runnable {
			// Its process belonged to an earlier harness and is gone.
			run.finished, run.failed = &run.started, true
			run.waiting = ""
			klog.Warningf("pod %s was running before the harness started; marking it failed", key)
			return run
		}
	}
	// The image knob of the e2e tier: an image whose name contains
	// "unpullable" cannot be pulled, as a kubelet reports one that is not
	// in its registry (a container waiting in ErrImagePull, the pod Pending).
	for _, ctr := range pod.Spec.Containers {
		if strings.Contains(ctr.Image, "unpullable") {
			run.waiting, run.waitingReason = fmt.Sprintf("failed to pull and unpack image %q: not found", ctr.Image), "ErrImagePull"
			klog.Infof("pod %s: image %s is not pullable (harness knob)", key, ctr.Image)
			return run
		}
	}
	if !run.runnable {
		for _, ctr := range pod.Spec.Containers {
			run.containers[ctr.Name] = &containerRun{logPath: filepath.Join(run.dir, ctr.Name+".log"), started: run.started}
		}
		klog.Infof("pod %s: application pod, reported running", key)
		return run
	}

	if err := os.MkdirAll(run.dir, 0o755); err != nil {
		run.waiting = err.Error()
		return run
	}
	specs, err := c.containerSpecs(ctx, pod, run.dir)
	if err != nil {
		var cfgErr *configError
		if errors.As(err, &cfgErr) {
			run.waiting = cfgErr.Error()
		} else {
			run.waiting = "harness: " + err.Error()
		}
		klog.Warningf("pod %s cannot start yet: %s", key, run.waiting)
		return run
	}
	for _, ctr := range pod.Spec.Containers {
		cr := &containerRun{logPath: filepath.Join(run.dir, ctr.Name+".log"), started: nowSeconds()}
		run.containers[ctr.Name] = cr
		spec, ok := specs[ctr.Name]
		if !ok {
			continue // a sidecar the harness cannot run: it just "runs"
		}
		log, err := newLogWriter(cr.logPath)
		if err != nil {
			run.waiting = "harness: " + err.Error()
			return run
		}
		proc, err := c.runtime.start(spec, log, func(*process) { c.queue.Add(key) })
		if err != nil {
			log.Line("harness: cannot start container: " + err.Error())
			_ = log.Close()
			proc = &process{done: make(chan struct{}), exitCode: 128, finished: time.Now()}
			close(proc.done)
		}
		cr.proc = proc
		cr.spec = &spec
		klog.Infof("pod %s: started container %s: %v", key, ctr.Name, spec.Argv)
	}
	return run
}

// underTmp mounts the host paths a container is handed by name (the
// binaries on its PATH, its HOME) at the same place when they lie under the
// host's /tmp, which the container's own /tmp hides: a checkout in /tmp, as
// a CI job may use, keeps .cache/e2e there.
func underTmp(hostPaths ...string) []mount {
	var mounts []mount
	for _, p := range hostPaths {
		if p = filepath.Clean(p); strings.HasPrefix(p, "/tmp/") {
			mounts = append(mounts, mount{Host: p, Container: p})
		}
	}
	return mounts
}

// containerSpecs resolves the runnable containers' command, env and mounts.
func (c *podController) containerSpecs(ctx context.Context, pod *corev1.Pod, dir string) (map[string]processSpec, error) {
	resolver := newEnvResolver(ctx, c.client, pod.Namespace)
	sources, err := volumeSources(pod, filepath.Join(c.runtime.dataDir, "pvcs"), dir, resolver)
	if err != nil {
		return nil, err
	}
	specs := map[string]processSpec{}
	for _, ctr := range pod.Spec.Containers {
		argv, ok := entrypoint(ctr, c.runtime.moverImage)
		if !ok {
			continue
		}
		env, err := containerEnv(pod, ctr, resolver)
		if err != nil {
			return nil, err
		}
		for i := range argv {
			argv[i] = expandEnv(argv[i], env)
		}
		home := filepath.Join(dir, ctr.Name+".home")
		if err := os.MkdirAll(home, 0o755); err != nil {
			return nil, err
		}
		base := map[string]string{
			"PATH":     c.runtime.binDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOSTNAME": pod.Name,
			"HOME":     home,
		}
		for k, v := range env {
			base[k] = v
		}
		mounts := containerMounts(ctr, sources)
		if isMover(ctr, c.runtime.moverImage) {
			mounts = append(mounts, mount{Host: c.runtime.moverDir, Container: moverMountPath, ReadOnly: true})
		}
		if !hasMountAt(mounts, "/tmp") {
			tmp := filepath.Join(dir, ctr.Name+".tmp")
			if err := os.MkdirAll(tmp, 0o1777); err != nil {
				return nil, err
			}
			mounts = append(mounts, mount{Host: tmp, Container: "/tmp"})
		}
		// the container's /tmp (ours, or a volume such as the mover's tempdir)
		// hides the host's: keep what it is handed by path from there
		mounts = append(mounts, underTmp(c.runtime.binDir, home)...)
		specs[ctr.Name] = processSpec{
			Argv:    argv,
			Env:     envList(base),
			WorkDir: ctr.WorkingDir,
			Mounts:  mounts,
			RootDir: filepath.Join(dir, ctr.Name+".root"),
		}
	}
	return specs, nil
}

func nowSeconds() metav1.Time {
	return metav1.NewTime(time.Now().Truncate(time.Second))
}

// updateStatus writes the pod status that follows from run, if it changed.
func (c *podController) updateStatus(ctx context.Context, pod *corev1.Pod, run *podRun) error {
	c.mu.Lock()
	if run.runnable && run.finished == nil && run.waiting == "" {
		allDone, anyFailed := true, false
		for _, cr := range run.containers {
			if cr.proc == nil {
				continue
			}
			if cr.proc.running() {
				allDone = false
			} else if cr.proc.exitCode != 0 {
				anyFailed = true
			}
		}
		if allDone {
			finished := nowSeconds()
			run.finished, run.failed = &finished, anyFailed
		}
	}
	status := desiredPodStatus(pod, run)
	c.mu.Unlock()

	if apiequality.Semantic.DeepEqual(status, pod.Status) {
		return nil
	}
	updated := pod.DeepCopy()
	updated.Status = status
	_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version is on its way through the informer
	}
	if err == nil && status.Phase != pod.Status.Phase {
		klog.Infof("pod %s/%s: %s", pod.Namespace, pod.Name, status.Phase)
	}
	return err
}

// desiredPodStatus is the status the kubelet would report for run.
func desiredPodStatus(pod *corev1.Pod, run *podRun) corev1.PodStatus {
	status := *pod.Status.DeepCopy()
	status.HostIP, status.PodIP = "127.0.0.1", "127.0.0.1"
	status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	status.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	if status.StartTime == nil {
		status.StartTime = &run.started
	}

	ready := run.waiting == "" && run.finished == nil
	switch {
	case run.waiting != "":
		status.Phase = corev1.PodPending
	case run.finished == nil:
		status.Phase = corev1.PodRunning
	case run.failed:
		status.Phase = corev1.PodFailed
	default:
		status.Phase = corev1.PodSucceeded
	}

	transition := run.started
	if run.finished != nil {
		transition = *run.finished
	}
	readyReason := ""
	if run.finished != nil {
		readyReason = "PodCompleted"
	} else if !ready {
		readyReason = "ContainersNotReady"
	}
	setCondition(&status, corev1.PodReadyToStartContainers, run.finished == nil, "", run.started)
	setCondition(&status, corev1.PodInitialized, true, condReason(run.finished != nil, "PodCompleted"), run.started)
	setCondition(&status, corev1.ContainersReady, ready, readyReason, transition)
	setCondition(&status, corev1.PodReady, ready, readyReason, transition)

	status.ContainerStatuses = nil
	for _, ctr := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name:         ctr.Name,
			Image:        ctr.Image,
			ImageID:      "harness://" + imageRepository(ctr.Image),
			ContainerID:  fmt.Sprintf("harness://%s/%s", pod.UID, ctr.Name),
			RestartCount: 0,
		}
		cr := run.containers[ctr.Name]
		switch {
		case run.waiting != "":
			cs.ContainerID = ""
			reason := "CreateContainerConfigError"
			if run.waitingReason != "" {
				reason = run.waitingReason
			}
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: run.waiting}
		case cr == nil || run.finished != nil && (cr.proc == nil || cr.proc.running()):
			// No process of ours (lost across a harness restart, or a sidecar).
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown",
				Message:   "the container could not be located when the pod was terminated",
				StartedAt: run.started, FinishedAt: transition, ContainerID: cs.ContainerID}
			if !run.failed {
				cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, cs.State.Terminated.Message = 0, "Completed", ""
			}
		case cr.proc != nil && !cr.proc.running():
			reason := "Completed"
			if cr.proc.exitCode != 0 {
				reason = "Error"
			}
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: cr.proc.exitCode, Reason: reason,
				StartedAt: cr.started, FinishedAt: metav1.NewTime(cr.proc.finished.Truncate(time.Second)), ContainerID: cs.ContainerID}
		default:
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: cr.started}
			cs.Ready, cs.Started = true, ptr.To(true)
		}
		if cs.Started == nil {
			cs.Started = ptr.To(false)
		}
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
	}
	return status
}

func condReason(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

func setCondition(status *corev1.PodStatus, typ corev1.PodConditionType, true_ bool, reason string, transition metav1.Time) {
	value := corev1.ConditionFalse
	if true_ {
		value = corev1.ConditionTrue
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type != typ {
			continue
		}
		cond := &status.Conditions[i]
		if cond.Status != value {
			cond.LastTransitionTime = transition
		}
		cond.Status, cond.Reason = value, reason
		return
	}
	status.Conditions = append(status.Conditions, corev1.PodCondition{
		Type: typ, Status: value, Reason: reason, LastTransitionTime: transition,
	})
}

// containerLog implements logSource for the kubelet endpoint.
func (c *podController) containerLog(namespace, name, container string) (string, func() bool, error) {
	pod, err := c.lister.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return "", nil, errNotFound
	}
	if err != nil {
		return "", nil, err
	}
	known := false
	for _, ctr := range pod.Spec.Containers {
		known = known || ctr.Name == container
	}
	if !known {
		return "", nil, errNotFound
	}
	c.mu.Lock()
	run := c.runs[pod.UID]
	c.mu.Unlock()
	path := filepath.Join(c.podDir(pod), container+".log")
	running := func() bool { return false }
	if run != nil {
		if cr := run.containers[container]; cr != nil {
			path = cr.logPath
			if cr.proc != nil {
				running = cr.proc.running
			} else if run.finished == nil {
				// An application pod: it "runs" for ever but writes nothing.
				running = func() bool { return false }
			}
		}
	}
	return path, running, nil
}
