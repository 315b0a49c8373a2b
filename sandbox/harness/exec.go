package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/klog/v2"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// `kubectl exec` through the API server: the API server proxies pods/exec to
// the kubelet endpoint (POST /exec/{namespace}/{pod}/{container}?command=...
// &input=1&output=1&error=1), translating kubectl's WebSocket stream into
// SPDY. The harness answers with the kubelet's own streaming code
// (k8s.io/kubelet/pkg/cri/streaming/remotecommand) and runs the command as a
// container runtime does: in the container's sandbox (its volumes at their
// mount paths, its resolved environment, its working directory), while the
// container runs. Only containers the harness really runs (mover, restic)
// can be exec'd into; an application pod's "container" is not a process.

// The kubelet's defaults (--streaming-connection-idle-timeout, and the
// stream creation timeout of its streaming server).
const (
	execIdleTimeout           = 4 * time.Hour
	execStreamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout
)

// execTarget runs a command in a running container of a pod.
type execTarget interface {
	execInContainer(ctx context.Context, namespace, pod, container string, cmd []string,
		stdin io.Reader, stdout, stderr io.WriteCloser) error
}

// serveExec handles GET/POST /exec/{namespace}/{pod}/{container} (and the
// form with the pod's uid before the container) as the kubelet does.
func serveExec(target execTarget) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		namespace, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
		opts, err := remotecommandserver.NewOptions(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cmd := r.URL.Query()[corev1.ExecCommandParam]
		if len(cmd) == 0 {
			http.Error(w, "no command given (command=...)", http.StatusBadRequest)
			return
		}
		if opts.TTY {
			http.Error(w, "the e2e harness does not give exec a terminal (tty)", http.StatusBadRequest)
			return
		}
		executor := &podExecutor{target: target, namespace: namespace}
		remotecommandserver.ServeExec(w, r, executor, pod, types.UID(r.PathValue("uid")), container, cmd, opts,
			execIdleTimeout, execStreamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	}
}

// podExecutor adapts execTarget to the kubelet's remotecommand.Executor.
type podExecutor struct {
	target    execTarget
	namespace string
}

func (e *podExecutor) ExecInContainer(ctx context.Context, pod string, _ types.UID, container string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, _ bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	return e.target.execInContainer(ctx, e.namespace, pod, container, cmd, in, out, errOut)
}

// execCounter numbers the sandboxes of exec'd commands within a pod's directory.
var execCounter atomic.Int64

// execInContainer implements execTarget for the pods the harness runs.
func (c *podController) execInContainer(ctx context.Context, namespace, name, container string, cmd []string,
	stdin io.Reader, stdout, stderr io.WriteCloser) error {
	pod, err := c.lister.Pods(namespace).Get(name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("pod %s/%s not found", namespace, name)
		}
		return err
	}
	c.mu.Lock()
	run := c.runs[pod.UID]
	c.mu.Unlock()
	var cr *containerRun
	if run != nil {
		cr = run.containers[container]
	}
	switch {
	case cr == nil:
		return fmt.Errorf("container %q of pod %s/%s is not running", container, namespace, name)
	case cr.spec == nil || cr.proc == nil:
		return fmt.Errorf("container %q of pod %s/%s is not a process the e2e harness runs (only mover and restic containers are)", container, namespace, name)
	case !cr.proc.running():
		return fmt.Errorf("container %q of pod %s/%s is not running", container, namespace, name)
	}
	spec := *cr.spec
	spec.Argv = cmd
	spec.RootDir = filepath.Join(run.dir, container+".exec-"+strconv.FormatInt(execCounter.Add(1), 10)+".root")
	defer func() {
		_ = os.Remove(spec.RootDir)
		_ = os.Remove(spec.RootDir + ".json")
	}()
	// the command ends with the request, and with its container
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-cr.proc.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	klog.Infof("pod %s/%s: exec in container %s: %v", namespace, name, container, cmd)
	code, err := c.runtime.execute(ctx, spec, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: int(code)}
	}
	return nil
}

// execute runs spec in a sandbox of its own (the container's volumes and
// environment, a fresh root) with the given stdio, and returns its exit code.
// The process group is killed when ctx ends first.
func (rt *containerRuntime) execute(ctx context.Context, spec processSpec, stdin io.Reader, stdout, stderr io.Writer) (int32, error) {
	exited := make(chan struct{})
	proc, err := rt.startWith(spec, stdin, stdout, stderr, nil, func(*process) { close(exited) })
	if err != nil {
		return 0, err
	}
	select {
	case <-exited:
	case <-ctx.Done():
		proc.stop(2 * time.Second)
		<-exited
	}
	return proc.exitCode, nil
}
