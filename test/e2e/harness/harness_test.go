package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "alpha", "B": "beta"}
	for in, want := range map[string]string{
		"plain":        "plain",
		"$(A)":         "alpha",
		"x-$(A)-$(B)":  "x-alpha-beta",
		"$(MISSING)":   "$(MISSING)",
		"$$(A)":        "$(A)",
		"cost: $5":     "cost: $5",
		"unclosed $(A": "unclosed $(A",
		"trailing $":   "trailing $",
	} {
		if got := expandEnv(in, env); got != want {
			t.Errorf("expandEnv(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEntrypoint(t *testing.T) {
	const mover = "restic-mover:e2e"
	tests := []struct {
		name      string
		container corev1.Container
		want      []string
		runnable  bool
	}{
		{"VolSync mover", corev1.Container{Image: mover, Command: []string{"/mover-restic/entry.sh"}, Args: []string{"backup"}},
			[]string{"/mover-restic/entry.sh", "backup"}, true},
		{"mover command with another image", corev1.Container{Image: "quay.io/backube/volsync:0.16.0", Command: []string{"/mover-restic/entry.sh"}, Args: []string{"restore"}},
			[]string{"/mover-restic/entry.sh", "restore"}, true},
		{"restic image, args only", corev1.Container{Image: "restic/restic:0.18.1", Args: []string{"snapshots", "--json"}},
			[]string{"restic", "snapshots", "--json"}, true},
		{"restic by absolute path", corev1.Container{Image: "busybox", Command: []string{"/usr/bin/restic", "snapshots"}},
			[]string{"restic", "snapshots"}, true},
		{"shell in the restic image", corev1.Container{Image: "docker.io/restic/restic@sha256:abc", Command: []string{"sh", "-c", "restic snapshots"}},
			[]string{"sh", "-c", "restic snapshots"}, true},
		{"application", corev1.Container{Image: "nginx:1.27"}, nil, false},
		{"application with a command", corev1.Container{Image: "busybox", Command: []string{"sleep", "3600"}}, nil, false},
		{"image merely named like restic", corev1.Container{Image: "example/restic-exporter:1"}, nil, false},
	}
	for _, tt := range tests {
		got, ok := entrypoint(tt.container, mover)
		if ok != tt.runnable || (ok && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: entrypoint = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.runnable)
		}
	}
}

func TestContainerEnvResolvesSecretsAndConfigMaps(t *testing.T) {
	client := fake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "app"},
			Data: map[string][]byte{"RESTIC_REPOSITORY": []byte("s3:http://127.0.0.1:9000/b/app"), "RESTIC_PASSWORD": []byte("pw")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "app"},
			Data: map[string]string{"LEVEL": "debug"}},
	)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mover-1", Namespace: "app"}}
	container := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}, Prefix: "CFG_"}},
		Env: []corev1.EnvVar{
			{Name: "DATA_DIR", Value: "/data"},
			{Name: "TARGET", Value: "$(DATA_DIR)/x"},
			{Name: "RESTIC_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "repo"}, Key: "RESTIC_PASSWORD"}}},
			{Name: "AWS_SESSION_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "repo"}, Key: "AWS_SESSION_TOKEN", Optional: ptr.To(true)}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
	}
	env, err := containerEnv(pod, container, newEnvResolver(context.Background(), client, "app"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CFG_LEVEL": "debug", "DATA_DIR": "/data", "TARGET": "/data/x", "RESTIC_PASSWORD": "pw", "POD": "mover-1"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v, want %v", env, want)
	}

	container.Env = append(container.Env, corev1.EnvVar{Name: "MISSING", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "K"}}})
	_, err = containerEnv(pod, container, newEnvResolver(context.Background(), client, "app"))
	if _, ok := err.(*configError); !ok {
		t.Errorf("a missing required secret: err = %v, want a configError", err)
	}
}

func moverJob(backoffLimit int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "volsync-src-app-backup", Namespace: "app", UID: "job-uid",
			Labels: map[string]string{volsyncJobLabel: volsyncJobValue}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To(backoffLimit), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/created-by": "volsync"}}}},
	}
}

func podInPhase(phase corev1.PodPhase, finished time.Time) *corev1.Pod {
	pod := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
	if phase == corev1.PodFailed || phase == corev1.PodSucceeded {
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(finished)}}}}
	}
	return pod
}

func conditionTypes(status batchv1.JobStatus) []batchv1.JobConditionType {
	var types []batchv1.JobConditionType
	for _, c := range status.Conditions {
		types = append(types, c.Type)
	}
	return types
}

func TestDecideJob(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	second := time.Second

	d := decideJob(moverJob(8), nil, now, second)
	if !d.createPod || d.status.Active != 1 || d.status.StartTime == nil {
		t.Errorf("new job: %+v, want a pod, active 1 and a start time", d)
	}

	d = decideJob(moverJob(8), []*corev1.Pod{podInPhase(corev1.PodRunning, time.Time{})}, now, second)
	if d.createPod || d.status.Active != 1 {
		t.Errorf("running pod: %+v, want no new pod and active 1", d)
	}

	justFailed := []*corev1.Pod{podInPhase(corev1.PodFailed, now.Time)}
	d = decideJob(moverJob(8), justFailed, now, second)
	if d.createPod || d.requeueAfter != second || d.status.Failed != 1 {
		t.Errorf("just failed: %+v, want failed 1 and a retry after 1s", d)
	}
	d = decideJob(moverJob(8), justFailed, metav1.NewTime(now.Add(2*second)), second)
	if !d.createPod || d.status.Failed != 1 {
		t.Errorf("failed 2s ago: %+v, want a new pod", d)
	}

	var failures []*corev1.Pod
	for i := 0; i < 9; i++ {
		failures = append(failures, podInPhase(corev1.PodFailed, now.Add(-time.Minute)))
	}
	d = decideJob(moverJob(8), failures[:8], now, second)
	if !d.createPod || len(d.status.Conditions) != 0 {
		t.Errorf("8 failures, backoffLimit 8: %+v, want one more try (the Job fails past the limit)", d)
	}
	d = decideJob(moverJob(8), failures, now, second)
	if d.createPod || d.status.Failed != 9 ||
		!reflect.DeepEqual(conditionTypes(d.status), []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed}) {
		t.Errorf("9 failures: %+v, want FailureTarget and Failed", d)
	}

	d = decideJob(moverJob(8), []*corev1.Pod{podInPhase(corev1.PodSucceeded, now.Time)}, now, second)
	if d.createPod || d.status.Succeeded != 1 || d.status.Active != 0 || d.status.CompletionTime == nil ||
		!reflect.DeepEqual(conditionTypes(d.status), []batchv1.JobConditionType{batchv1.JobSuccessCriteriaMet, batchv1.JobComplete}) {
		t.Errorf("succeeded: %+v, want SuccessCriteriaMet, Complete and a completion time", d)
	}
}

func TestPodExpectationsHoldASecondPodUntilTheFirstIsSeen(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	named := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	e := newPodExpectations(30 * time.Second)
	if !e.settled("job-a", nil, start) {
		t.Fatal("a Job with no pod made yet must be free to get one")
	}
	e.expect("job-a", "mover-1", start)
	if e.settled("job-a", nil, start.Add(time.Second)) {
		t.Error("the informer does not show mover-1 yet: no decision (a second pod) may be made")
	}
	if e.settled("job-a", []*corev1.Pod{named("mover-0")}, start.Add(time.Second)) {
		t.Error("an older pod is not the one just made")
	}
	if !e.settled("job-b", nil, start.Add(time.Second)) {
		t.Error("another Job (another UID, e.g. the same name made again) is not held")
	}
	if !e.settled("job-a", []*corev1.Pod{named("mover-0"), named("mover-1")}, start.Add(2*time.Second)) {
		t.Error("mover-1 is seen: the Job is settled")
	}
	if !e.settled("job-a", nil, start.Add(3*time.Second)) {
		t.Error("once settled, the expectation is gone")
	}
	e.expect("job-a", "mover-2", start)
	if !e.settled("job-a", nil, start.Add(31*time.Second)) {
		t.Error("a pod never seen (deleted first) holds the Job for the timeout only")
	}
}

func TestPodForJob(t *testing.T) {
	pod := podForJob(moverJob(8))
	if pod.GenerateName != "volsync-src-app-backup-" || pod.Labels["job-name"] != "volsync-src-app-backup" ||
		pod.Labels["app.kubernetes.io/created-by"] != "volsync" {
		t.Errorf("pod meta = %+v", pod.ObjectMeta)
	}
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.Kind != "Job" || owner.UID != "job-uid" {
		t.Errorf("controller = %+v, want the Job", owner)
	}
}

func TestStreamLogHonoursTailSinceAndTimestamps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	w, err := newLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := 0
	w.now = func() time.Time { i++; return base.Add(time.Duration(i) * time.Second) }
	_, _ = w.Write([]byte("one\ntwo\nthr"))
	_, _ = w.Write([]byte("ee\nfour"))
	_ = w.Close()

	read := func(query string) string {
		req := httptest.NewRequest("GET", "/containerLogs/ns/pod/c?"+query, nil)
		opts, err := parseLogQuery(req, base.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := streamLog(context.Background(), path, opts, func() bool { return false }, &out, func() {}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for query, want := range map[string]string{
		"":                                "one\ntwo\nthree\nfour\n",
		"tailLines=2":                     "three\nfour\n",
		"tailLines=0":                     "",
		"limitBytes=6":                    "one\ntw",
		"sinceTime=2026-01-01T00:00:03Z":  "three\nfour\n",
		"timestamps=true&tailLines=1":     "2026-01-01T00:00:04Z four\n",
		"follow=true&tailLines=1":         "four\n",
		"sinceSeconds=60&timestamps=true": "",
	} {
		if got := read(query); got != want {
			t.Errorf("logs?%s = %q, want %q", query, got, want)
		}
	}
	if _, err := parseLogQuery(httptest.NewRequest("GET", "/x?previous=true", nil), base); err == nil {
		t.Error("previous=true: want an error, containers are never restarted")
	}
}

func TestWithInterpreterRunsNonExecutableScripts(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "entry.sh")
	if err := os.WriteFile(script, []byte("#! /bin/bash\necho hi\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	program, argv := withInterpreter(script, []string{"/mover-restic/entry.sh", "backup"})
	if program != "/bin/bash" || !reflect.DeepEqual(argv, []string{"/bin/bash", script, "backup"}) {
		t.Errorf("withInterpreter = %s %v", program, argv)
	}
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	if program, _ := withInterpreter(script, []string{script}); program != script {
		t.Errorf("an executable script runs as itself, got %s", program)
	}
}

func TestDesiredPodStatus(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "restic", Image: "restic/restic"}}},
	}
	done := make(chan struct{})
	close(done)
	finished := started.Add(3 * time.Second)
	run := &podRun{runnable: true, started: started, finished: &metav1.Time{Time: finished}, failed: true,
		containers: map[string]*containerRun{"restic": {started: started, proc: &process{done: done, exitCode: 3, finished: finished}}}}
	status := desiredPodStatus(pod, run)
	if status.Phase != corev1.PodFailed {
		t.Errorf("phase = %s, want Failed", status.Phase)
	}
	term := status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("container state = %+v, want terminated with exit code 3", status.ContainerStatuses[0].State)
	}

	app := &podRun{started: started, containers: map[string]*containerRun{"restic": {started: started}}}
	status = desiredPodStatus(pod, app)
	if status.Phase != corev1.PodRunning || !status.ContainerStatuses[0].Ready || status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("application pod status = %+v, want running and ready", status)
	}
}

func TestUnderTmpKeepsHostPathsUnderTmp(t *testing.T) {
	got := underTmp("/tmp/x/.cache/e2e/bin", "/tmp/x/run/pods/p/restic.home/", "/work/bin", "/tmpfoo/bin")
	want := []mount{
		{Host: "/tmp/x/.cache/e2e/bin", Container: "/tmp/x/.cache/e2e/bin"},
		{Host: "/tmp/x/run/pods/p/restic.home", Container: "/tmp/x/run/pods/p/restic.home"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("underTmp:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecideJobHonoursParallelism(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	running := podInPhase(corev1.PodRunning, time.Time{})
	running.Name = "mover-running"
	deleting := podInPhase(corev1.PodRunning, time.Time{})
	deleting.Name, deleting.DeletionTimestamp = "mover-deleting", &now
	pending := podInPhase(corev1.PodPending, time.Time{})
	pending.Name = "mover-pending"
	tests := []struct {
		name        string
		parallelism *int32
		pods        []*corev1.Pod
		create      bool
		deleted     []string
		active      int32
		finished    bool
	}{
		{"nil parallelism means 1: a pod is made", nil, nil, true, nil, 1, false},
		{"parallelism 1: a pod is made", ptr.To[int32](1), nil, true, nil, 1, false},
		{"parallelism 0 (paused): no pod", ptr.To[int32](0), nil, false, nil, 0, false},
		{"paused while the mover runs: it is deleted", ptr.To[int32](0), []*corev1.Pod{running}, false, []string{"mover-running"}, 0, false},
		{"paused before the pod started: it is deleted", ptr.To[int32](0), []*corev1.Pod{pending}, false, []string{"mover-pending"}, 0, false},
		{"paused, the pod is on its way out: nothing more", ptr.To[int32](0), []*corev1.Pod{deleting}, false, nil, 0, false},
		{"paused after a failure: no retry", ptr.To[int32](0), []*corev1.Pod{podInPhase(corev1.PodFailed, now.Add(-time.Minute))}, false, nil, 0, false},
		{"paused after the mover succeeded: the Job completes", ptr.To[int32](0), []*corev1.Pod{podInPhase(corev1.PodSucceeded, now.Time)}, false, nil, 0, true},
		{"unpaused while the deleted pod goes: a new pod", ptr.To[int32](1), []*corev1.Pod{deleting}, true, nil, 1, false},
		{"unpaused, the mover runs: nothing more", ptr.To[int32](1), []*corev1.Pod{running}, false, nil, 1, false},
	}
	for _, tt := range tests {
		job := moverJob(8)
		job.Spec.Parallelism = tt.parallelism
		d := decideJob(job, tt.pods, now, time.Second)
		var deleted []string
		for _, pod := range d.deletePods {
			deleted = append(deleted, pod.Name)
		}
		if d.createPod != tt.create || !reflect.DeepEqual(deleted, tt.deleted) || d.status.Active != tt.active ||
			jobFinished(&batchv1.Job{Status: d.status}) != tt.finished || d.status.StartTime == nil {
			t.Errorf("%s: create=%v delete=%v active=%d finished=%v; want create=%v delete=%v active=%d finished=%v",
				tt.name, d.createPod, deleted, d.status.Active, jobFinished(&batchv1.Job{Status: d.status}),
				tt.create, tt.deleted, tt.active, tt.finished)
		}
	}
}
