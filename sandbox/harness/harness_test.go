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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

	// the image knob: a pod whose image is not pullable waits in ErrImagePull
	c := &podController{runtime: &containerRuntime{dataDir: t.TempDir(), moverImage: "restic-mover:e2e"}}
	unpullable := pod.DeepCopy()
	unpullable.Spec.Containers[0].Image = "registry.example/unpullable/restic:0.18.1"
	status = desiredPodStatus(unpullable, c.start(context.Background(), unpullable))
	waiting := status.ContainerStatuses[0].State.Waiting
	if status.Phase != corev1.PodPending || waiting == nil || waiting.Reason != "ErrImagePull" || !strings.Contains(waiting.Message, "unpullable") {
		t.Errorf("unpullable image: phase %s, container state %+v, want Pending and waiting in ErrImagePull", status.Phase, status.ContainerStatuses[0].State)
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

func harnessVolume(name, dir string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{provisionedLabel: "true"}},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: dir}}},
	}
}

func boundClaim(name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app"},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound,
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}},
	}
}

// lookups over fixed objects, by name (NotFound otherwise)
func claimsNamed(claims ...*corev1.PersistentVolumeClaim) func(string) (*corev1.PersistentVolumeClaim, error) {
	return func(name string) (*corev1.PersistentVolumeClaim, error) {
		for _, c := range claims {
			if c.Name == name {
				return c, nil
			}
		}
		return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumeclaims"), name)
	}
}

func volumesNamed(volumes ...*corev1.PersistentVolume) func(string) (*corev1.PersistentVolume, error) {
	return func(name string) (*corev1.PersistentVolume, error) {
		for _, v := range volumes {
			if v.Name == name {
				return v, nil
			}
		}
		return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumes"), name)
	}
}

func snapshotsNamed(snaps ...*volumeSnapshot) func(string) (*volumeSnapshot, error) {
	return func(name string) (*volumeSnapshot, error) {
		for _, s := range snaps {
			if s.Name == name {
				return s, nil
			}
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: snapshotGroup, Resource: "volumesnapshots"}, name)
	}
}

func snapshotClass(name, driver string, isDefault bool) *volumeSnapshotClass {
	c := &volumeSnapshotClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Driver: driver, DeletionPolicy: "Delete"}
	if isDefault {
		c.Annotations = map[string]string{defaultClassAnnotation: "true"}
	}
	return c
}

func snapshotOfClaim(name, claim string, class *string) *volumeSnapshot {
	snap := &volumeSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "app", UID: "snap-uid"}}
	if claim != "" {
		snap.Spec.Source.PersistentVolumeClaimName = ptr.To(claim)
	}
	snap.Spec.VolumeSnapshotClassName = class
	return snap
}

func TestPlanSnapshot(t *testing.T) {
	data := boundClaim("data", "pv-data")
	pending := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "app"},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	foreign := boundClaim("foreign", "pv-foreign")
	claims := claimsNamed(data, pending, foreign)
	volumes := volumesNamed(harnessVolume("pv-data", "/run/pvcs/app/data"),
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-foreign"}})
	ours := snapshotClass(defaultSnapshotClass, csiDriver, true)
	named := snapshotClass("fast", csiDriver, false)
	other := snapshotClass("ebs", "ebs.csi.aws.com", true)
	preProvisioned := snapshotOfClaim("pre", "", nil)
	preProvisioned.Spec.Source.VolumeSnapshotContentName = ptr.To("content")
	tests := []struct {
		name    string
		snap    *volumeSnapshot
		classes []*volumeSnapshotClass
		class   string // the class of a plan that takes it
		wait    string
		fail    string
	}{
		{"default class", snapshotOfClaim("s", "data", nil), []*volumeSnapshotClass{ours, named, other}, defaultSnapshotClass, "", ""},
		{"named class", snapshotOfClaim("s", "data", ptr.To("fast")), []*volumeSnapshotClass{ours, named}, "fast", "", ""},
		{"named class missing", snapshotOfClaim("s", "data", ptr.To("gone")), []*volumeSnapshotClass{ours}, "", "",
			`failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "gone" not found`},
		{"class of another driver", snapshotOfClaim("s", "data", ptr.To("ebs")), []*volumeSnapshotClass{ours, other}, "", "",
			"VolumeSnapshotClass ebs is for driver ebs.csi.aws.com; the e2e harness's driver is " + csiDriver},
		{"no default class of ours", snapshotOfClaim("s", "data", nil), []*volumeSnapshotClass{named, other}, "", "", "cannot find default snapshot class"},
		{"two default classes", snapshotOfClaim("s", "data", nil), []*volumeSnapshotClass{ours, snapshotClass("again", csiDriver, true)}, "", "",
			"2 default snapshot classes were found"},
		{"claim missing", snapshotOfClaim("s", "absent", nil), []*volumeSnapshotClass{ours}, "", "", `persistentvolumeclaim "absent" not found`},
		{"claim not bound yet", snapshotOfClaim("s", "pending", nil), []*volumeSnapshotClass{ours}, "",
			"the PVC pending is not yet bound to a PV, will not attempt to take a snapshot", ""},
		{"volume not made by the harness", snapshotOfClaim("s", "foreign", nil), []*volumeSnapshotClass{ours}, "", "",
			"PersistentVolume pv-foreign of PVC foreign was not made by the e2e harness: its driver cannot snapshot it"},
		{"pre-provisioned", preProvisioned, []*volumeSnapshotClass{ours}, "", "",
			"the e2e harness does not support pre-provisioned snapshots (spec.source.volumeSnapshotContentName)"},
		{"no source", snapshotOfClaim("s", "", nil), []*volumeSnapshotClass{ours}, "", "", "spec.source.persistentVolumeClaimName is not set"},
	}
	for _, tt := range tests {
		plan := planSnapshot(tt.snap, claims, volumes, tt.classes)
		class := ""
		if plan.class != nil && plan.claim != nil && plan.volume != nil {
			class = plan.class.Name
		}
		if class != tt.class || plan.waitFor != tt.wait || plan.fail != tt.fail {
			t.Errorf("%s: plan = class %q, wait %q, fail %q\nwant class %q, wait %q, fail %q",
				tt.name, class, plan.waitFor, plan.fail, tt.class, tt.wait, tt.fail)
		}
	}
}

func TestSnapshotContentAndStatusHaveTheCRDShapes(t *testing.T) {
	snap := snapshotOfClaim("volsync-app-src", "data", nil)
	plan := snapshotPlan{claim: boundClaim("data", "pv-data"), volume: harnessVolume("pv-data", "/run/pvcs/app/data"),
		class: snapshotClass(defaultSnapshotClass, csiDriver, true)}
	taken := time.Date(2026, 1, 1, 12, 0, 0, 500, time.UTC)
	content := contentForSnapshot(snap, plan, "/run/snapshots/app/volsync-app-src", taken)
	u, err := toUnstructured(content)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
		"metadata": map[string]any{"name": "snapcontent-snap-uid"},
		"spec": map[string]any{
			"deletionPolicy": "Delete", "driver": csiDriver, "source": map[string]any{"volumeHandle": "pv-data"},
			"volumeSnapshotClassName": defaultSnapshotClass,
			"volumeSnapshotRef": map[string]any{"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
				"namespace": "app", "name": "volsync-app-src", "uid": "snap-uid"},
		},
		"status": map[string]any{"creationTime": taken.UnixNano(), "readyToUse": true,
			"restoreSize": int64(2 << 30), "snapshotHandle": "/run/snapshots/app/volsync-app-src"},
	}
	if !reflect.DeepEqual(u.Object, want) {
		t.Errorf("content:\n got %v\nwant %v", u.Object, want)
	}

	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(snapshotStatusFor(content))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := map[string]any{"boundVolumeSnapshotContentName": "snapcontent-snap-uid",
		"creationTime": "2026-01-01T12:00:00Z", "readyToUse": true, "restoreSize": "2Gi"}
	if !reflect.DeepEqual(status, wantStatus) {
		t.Errorf("snapshot status:\n got %v\nwant %v", status, wantStatus)
	}
	// and read back as VolSync reads it
	var back volumeSnapshot
	if err := fromUnstructured(&unstructured.Unstructured{Object: map[string]any{"status": status}}, &back); err != nil {
		t.Fatal(err)
	}
	back.Name = "x"
	if !snapshotReady(&back) || back.Status.RestoreSize.String() != "2Gi" {
		t.Errorf("status read back = %+v, want ready with restoreSize 2Gi", back.Status)
	}
}

func TestSourceForClaim(t *testing.T) {
	ready := snapshotOfClaim("snap-ready", "data", nil)
	ready.Status = snapshotStatusFor(&volumeSnapshotContent{ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Status: &volumeSnapshotContentStatus{ReadyToUse: ptr.To(true)}})
	unready := snapshotOfClaim("snap-unready", "data", nil)
	unready.Status = &volumeSnapshotStatus{ReadyToUse: ptr.To(false)}
	snaps := snapshotsNamed(ready, unready)
	pending := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "app"},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	claims := claimsNamed(boundClaim("data", "pv-data"), pending, boundClaim("foreign", "pv-foreign"))
	volumes := volumesNamed(harnessVolume("pv-data", "/run/pvcs/app/data"),
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-foreign"}})
	snapshotSource := func(name string) *corev1.TypedLocalObjectReference {
		return &corev1.TypedLocalObjectReference{APIGroup: ptr.To(snapshotGroup), Kind: "VolumeSnapshot", Name: name}
	}
	claimSourceRef := func(name string) *corev1.TypedLocalObjectReference {
		return &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: name}
	}
	claimWith := func(dataSource *corev1.TypedLocalObjectReference, ref *corev1.TypedObjectReference) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "new", Namespace: "app"},
			Spec: corev1.PersistentVolumeClaimSpec{DataSource: dataSource, DataSourceRef: ref}}
	}
	tests := []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
		want  claimSource
	}{
		{"no data source: empty", claimWith(nil, nil), claimSource{}},
		{"a ready snapshot: its copy", claimWith(snapshotSource("snap-ready"), nil),
			claimSource{dir: "/run/snapshots/app/snap-ready", what: "VolumeSnapshot snap-ready"}},
		{"dataSourceRef wins", claimWith(snapshotSource("snap-unready"),
			&corev1.TypedObjectReference{APIGroup: ptr.To(snapshotGroup), Kind: "VolumeSnapshot", Name: "snap-ready"}),
			claimSource{dir: "/run/snapshots/app/snap-ready", what: "VolumeSnapshot snap-ready"}},
		{"a snapshot not ready yet", claimWith(snapshotSource("snap-unready"), nil),
			claimSource{waitFor: "VolumeSnapshot snap-unready is not ready to use"}},
		{"a snapshot not there yet", claimWith(snapshotSource("snap-later"), nil),
			claimSource{waitFor: `VolumeSnapshot snap-later: volumesnapshots.snapshot.storage.k8s.io "snap-later" not found`}},
		{"a clone: the source's directory", claimWith(claimSourceRef("data"), nil),
			claimSource{dir: "/run/pvcs/app/data", what: "PVC data"}},
		{"a clone of a claim not bound", claimWith(claimSourceRef("pending"), nil),
			claimSource{waitFor: "clone source PVC pending is not Bound"}},
		{"a clone of a claim not there", claimWith(claimSourceRef("absent"), nil),
			claimSource{waitFor: `clone source PVC absent: persistentvolumeclaims "absent" not found`}},
		{"a clone of a volume not the harness's", claimWith(claimSourceRef("foreign"), nil),
			claimSource{unsupported: "clone source PVC foreign is on PersistentVolume pv-foreign, which the e2e harness did not make"}},
		{"another namespace", claimWith(nil, &corev1.TypedObjectReference{APIGroup: ptr.To(snapshotGroup), Kind: "VolumeSnapshot",
			Name: "snap-ready", Namespace: ptr.To("elsewhere")}),
			claimSource{unsupported: "data source VolumeSnapshot elsewhere/snap-ready: the e2e harness does not copy across namespaces"}},
		{"a populator", claimWith(nil, &corev1.TypedObjectReference{APIGroup: ptr.To("example.com"), Kind: "Bucket", Name: "b"}),
			claimSource{unsupported: "data source Bucket.example.com b is not one the e2e harness provides (VolumeSnapshot, PersistentVolumeClaim)"}},
	}
	for _, tt := range tests {
		if got := sourceForClaim(tt.claim, snaps, claims, volumes, "/run/snapshots"); got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestUnboundClaim(t *testing.T) {
	deleting := boundClaim("deleting", "pv")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pending := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pending"},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	claims := claimsNamed(boundClaim("data", "pv"), boundClaim("cache", "pv2"), deleting, pending)
	podWith := func(claimNames ...string) *corev1.Pod {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}
		for _, name := range claimNames {
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
		}
		return pod
	}
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"no claims", podWith(), ""},
		{"all Bound", podWith("data", "cache"), ""},
		{"one Pending", podWith("data", "pending"), "pod has unbound immediate PersistentVolumeClaims"},
		{"one missing", podWith("absent", "data"), `persistentvolumeclaim "absent" not found`},
		{"one being deleted", podWith("deleting"), `persistentvolumeclaim "deleting" is being deleted`},
	} {
		if got := unboundClaim(tt.pod, claims); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCopyTreeCopiesLikeCpA(t *testing.T) {
	root := t.TempDir()
	src, dst := filepath.Join(root, "pvcs", "data"), filepath.Join(root, "snapshots", "app", "snap")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "docs", "deep"), 0o750))
	must(os.WriteFile(filepath.Join(src, "app.conf"), []byte("v1\n"), 0o600))
	must(os.WriteFile(filepath.Join(src, "docs", "deep", "n.txt"), []byte("nested\n"), 0o644))
	must(os.Symlink("../app.conf", filepath.Join(src, "docs", "link")))
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	must(os.Chtimes(filepath.Join(src, "app.conf"), old, old))
	// an older copy of that name is replaced, not merged
	must(os.MkdirAll(dst, 0o755))
	must(os.WriteFile(filepath.Join(dst, "stale"), []byte("x"), 0o644))

	must(copyTree(src, dst))
	must(os.WriteFile(filepath.Join(src, "later"), []byte("after the copy\n"), 0o644))

	if _, err := os.Stat(filepath.Join(dst, "stale")); !os.IsNotExist(err) {
		t.Error("the older copy's file is still there")
	}
	if _, err := os.Stat(filepath.Join(dst, "later")); !os.IsNotExist(err) {
		t.Error("a file written after the copy is in it")
	}
	if _, err := os.Stat(dst + ".partial"); !os.IsNotExist(err) {
		t.Error("the partial copy is left behind")
	}
	info, err := os.Stat(filepath.Join(dst, "app.conf"))
	must(err)
	if info.Mode().Perm() != 0o600 || !info.ModTime().Equal(old) {
		t.Errorf("app.conf: mode %v, mtime %v; want 0600 and %v", info.Mode().Perm(), info.ModTime(), old)
	}
	if info, err := os.Stat(filepath.Join(dst, "docs")); err != nil || info.Mode().Perm() != 0o750 {
		t.Errorf("docs: %v %v, want a directory with mode 0750", info, err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "docs", "link")); err != nil || target != "../app.conf" {
		t.Errorf("docs/link: %q %v, want the symlink ../app.conf", target, err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "docs", "deep", "n.txt")); err != nil || string(data) != "nested\n" {
		t.Errorf("docs/deep/n.txt: %q %v", data, err)
	}
	if err := copyTree(filepath.Join(root, "absent"), dst); err == nil {
		t.Error("copying a missing directory: want an error")
	}
	if _, err := os.Stat(filepath.Join(dst, "app.conf")); err != nil {
		t.Error("a failed copy must leave the existing copy alone")
	}
}
