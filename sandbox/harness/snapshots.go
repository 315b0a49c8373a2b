package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// The harness is also the CSI driver of its hostPath volumes, for what
// VolSync asks of one (copyMethod Snapshot and Clone): a VolumeSnapshot of a
// PVC is a copy of the PVC's directory, taken when the harness first handles
// it, in <data-dir>/snapshots/<ns>/<name>; a PVC whose data source is a
// VolumeSnapshot or another PVC starts as a copy of that directory (see
// volumes.go). It plays the snapshot controller too: it binds each
// VolumeSnapshot to a VolumeSnapshotContent it makes and sets the status
// VolSync waits for (readyToUse, restoreSize, boundVolumeSnapshotContentName).

const (
	// csiDriver is the driver name of the stand-in; the VolumeSnapshotClass
	// defaultSnapshotClass (made at start when missing) names it.
	csiDriver            = "e2e-csi.volsync-ops"
	defaultSnapshotClass = "e2e-csi"
	// snapshotFinalizer keeps a deleted VolumeSnapshot until its content
	// and directory are removed (the snapshot controller's finalizer).
	snapshotFinalizer      = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
	defaultClassAnnotation = "snapshot.storage.kubernetes.io/is-default-class"
	snapshotGroup          = "snapshot.storage.k8s.io"
)

var (
	volumeSnapshotsGVR        = schema.GroupVersionResource{Group: snapshotGroup, Version: "v1", Resource: "volumesnapshots"}
	volumeSnapshotContentsGVR = schema.GroupVersionResource{Group: snapshotGroup, Version: "v1", Resource: "volumesnapshotcontents"}
	volumeSnapshotClassesGVR  = schema.GroupVersionResource{Group: snapshotGroup, Version: "v1", Resource: "volumesnapshotclasses"}
)

// The parts of the snapshot.storage.k8s.io/v1 objects the stand-in reads and writes.
type volumeSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Source struct {
			PersistentVolumeClaimName *string `json:"persistentVolumeClaimName,omitempty"`
			VolumeSnapshotContentName *string `json:"volumeSnapshotContentName,omitempty"`
		} `json:"source"`
		VolumeSnapshotClassName *string `json:"volumeSnapshotClassName,omitempty"`
	} `json:"spec"`
	Status *volumeSnapshotStatus `json:"status,omitempty"`
}

type volumeSnapshotStatus struct {
	BoundVolumeSnapshotContentName *string            `json:"boundVolumeSnapshotContentName,omitempty"`
	CreationTime                   *metav1.Time       `json:"creationTime,omitempty"`
	ReadyToUse                     *bool              `json:"readyToUse,omitempty"`
	RestoreSize                    *resource.Quantity `json:"restoreSize,omitempty"`
	Error                          *snapshotError     `json:"error,omitempty"`
}

type snapshotError struct {
	Time    *metav1.Time `json:"time,omitempty"`
	Message *string      `json:"message,omitempty"`
}

type volumeSnapshotContent struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		DeletionPolicy string `json:"deletionPolicy"`
		Driver         string `json:"driver"`
		Source         struct {
			VolumeHandle *string `json:"volumeHandle,omitempty"`
		} `json:"source"`
		VolumeSnapshotClassName *string                `json:"volumeSnapshotClassName,omitempty"`
		VolumeSnapshotRef       corev1.ObjectReference `json:"volumeSnapshotRef"`
	} `json:"spec"`
	Status *volumeSnapshotContentStatus `json:"status,omitempty"`
}

type volumeSnapshotContentStatus struct {
	CreationTime   *int64  `json:"creationTime,omitempty"` // Unix nanoseconds
	ReadyToUse     *bool   `json:"readyToUse,omitempty"`
	RestoreSize    *int64  `json:"restoreSize,omitempty"` // bytes
	SnapshotHandle *string `json:"snapshotHandle,omitempty"`
}

type volumeSnapshotClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Driver            string `json:"driver"`
	DeletionPolicy    string `json:"deletionPolicy"`
}

func fromUnstructured(obj any, into any) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("unexpected object %T", obj)
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// snapshotReady says whether a VolumeSnapshot may be restored from.
func snapshotReady(snap *volumeSnapshot) bool {
	return snap.DeletionTimestamp == nil && snap.Status != nil && snap.Status.BoundVolumeSnapshotContentName != nil &&
		ptr.Deref(snap.Status.ReadyToUse, false)
}

func snapshotDir(root, namespace, name string) string {
	return filepath.Join(root, namespace, name)
}

func contentName(snap *volumeSnapshot) string { return "snapcontent-" + string(snap.UID) }

// snapshotPlan is what can be done for a VolumeSnapshot that is not ready:
// take it (claim, volume and class known), wait, or report an error.
type snapshotPlan struct {
	waitFor string // not yet, and why (retried)
	fail    string // cannot: the message for status.error (retried, as the snapshot controller does)
	claim   *corev1.PersistentVolumeClaim
	volume  *corev1.PersistentVolume
	class   *volumeSnapshotClass
}

// planSnapshot checks what taking snap needs: a Bound PVC on a volume of the
// harness, and a VolumeSnapshotClass of its driver (the named one, or the
// one default class).
func planSnapshot(snap *volumeSnapshot, claimOf func(name string) (*corev1.PersistentVolumeClaim, error),
	volumeOf func(name string) (*corev1.PersistentVolume, error), classes []*volumeSnapshotClass) snapshotPlan {
	if snap.Spec.Source.VolumeSnapshotContentName != nil {
		return snapshotPlan{fail: "the e2e harness does not support pre-provisioned snapshots (spec.source.volumeSnapshotContentName)"}
	}
	name := ptr.Deref(snap.Spec.Source.PersistentVolumeClaimName, "")
	if name == "" {
		return snapshotPlan{fail: "spec.source.persistentVolumeClaimName is not set"}
	}
	class, msg := chooseSnapshotClass(classes, snap.Spec.VolumeSnapshotClassName)
	if class == nil {
		return snapshotPlan{fail: msg}
	}
	claim, err := claimOf(name)
	if apierrors.IsNotFound(err) {
		return snapshotPlan{fail: fmt.Sprintf("persistentvolumeclaim %q not found", name)}
	}
	if err != nil {
		return snapshotPlan{waitFor: err.Error()}
	}
	if claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
		return snapshotPlan{waitFor: fmt.Sprintf("the PVC %s is not yet bound to a PV, will not attempt to take a snapshot", name)}
	}
	volume, err := volumeOf(claim.Spec.VolumeName)
	if err != nil {
		return snapshotPlan{waitFor: fmt.Sprintf("PersistentVolume %s: %v", claim.Spec.VolumeName, err)}
	}
	if volume.Labels[provisionedLabel] != "true" || volume.Spec.HostPath == nil {
		return snapshotPlan{fail: fmt.Sprintf("PersistentVolume %s of PVC %s was not made by the e2e harness: its driver cannot snapshot it", volume.Name, name)}
	}
	return snapshotPlan{claim: claim, volume: volume, class: class}
}

// chooseSnapshotClass finds the named class, or the default class of the
// harness's driver; otherwise it says why none applies.
func chooseSnapshotClass(classes []*volumeSnapshotClass, name *string) (*volumeSnapshotClass, string) {
	if name != nil {
		for _, c := range classes {
			if c.Name != *name {
				continue
			}
			if c.Driver != csiDriver {
				return nil, fmt.Sprintf("VolumeSnapshotClass %s is for driver %s; the e2e harness's driver is %s", c.Name, c.Driver, csiDriver)
			}
			return c, ""
		}
		return nil, fmt.Sprintf("failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io %q not found", *name)
	}
	var defaults []*volumeSnapshotClass
	for _, c := range classes {
		if c.Driver == csiDriver && c.Annotations[defaultClassAnnotation] == "true" {
			defaults = append(defaults, c)
		}
	}
	switch len(defaults) {
	case 1:
		return defaults[0], ""
	case 0:
		return nil, "cannot find default snapshot class"
	}
	return nil, fmt.Sprintf("%d default snapshot classes were found", len(defaults))
}

// claimSize is what a volume restored from a snapshot of claim needs.
func claimSize(claim *corev1.PersistentVolumeClaim) resource.Quantity {
	if size, ok := claim.Status.Capacity[corev1.ResourceStorage]; ok && !size.IsZero() {
		return size
	}
	return claim.Spec.Resources.Requests[corev1.ResourceStorage]
}

// contentForSnapshot is the VolumeSnapshotContent bound to snap, for a copy
// of plan's volume in dir taken at taken.
func contentForSnapshot(snap *volumeSnapshot, plan snapshotPlan, dir string, taken time.Time) *volumeSnapshotContent {
	content := &volumeSnapshotContent{
		TypeMeta:   metav1.TypeMeta{APIVersion: snapshotGroup + "/v1", Kind: "VolumeSnapshotContent"},
		ObjectMeta: metav1.ObjectMeta{Name: contentName(snap)},
	}
	content.Spec.DeletionPolicy = plan.class.DeletionPolicy
	content.Spec.Driver = csiDriver
	content.Spec.Source.VolumeHandle = ptr.To(plan.volume.Name)
	content.Spec.VolumeSnapshotClassName = ptr.To(plan.class.Name)
	content.Spec.VolumeSnapshotRef = corev1.ObjectReference{APIVersion: snapshotGroup + "/v1", Kind: "VolumeSnapshot",
		Namespace: snap.Namespace, Name: snap.Name, UID: snap.UID}
	size := claimSize(plan.claim)
	content.Status = &volumeSnapshotContentStatus{
		CreationTime:   ptr.To(taken.UnixNano()),
		ReadyToUse:     ptr.To(true),
		RestoreSize:    ptr.To(size.Value()),
		SnapshotHandle: ptr.To(dir),
	}
	return content
}

// snapshotStatusFor is the status of a VolumeSnapshot bound to content.
func snapshotStatusFor(content *volumeSnapshotContent) *volumeSnapshotStatus {
	status := &volumeSnapshotStatus{BoundVolumeSnapshotContentName: ptr.To(content.Name), ReadyToUse: ptr.To(false)}
	if s := content.Status; s != nil {
		status.ReadyToUse = ptr.To(ptr.Deref(s.ReadyToUse, false))
		if s.CreationTime != nil {
			status.CreationTime = ptr.To(metav1.NewTime(time.Unix(0, *s.CreationTime).UTC().Truncate(time.Second)))
		}
		if s.RestoreSize != nil {
			status.RestoreSize = resource.NewQuantity(*s.RestoreSize, resource.BinarySI)
		}
	}
	return status
}

// copyTree makes dst a copy of the directory src as `cp -a` makes it (modes,
// symlinks, times, owners when permitted), replacing whatever dst held. The
// copy is made beside dst and renamed, so dst is never half written.
func copyTree(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", src)
	}
	partial := dst + ".partial"
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", "-T", "--", src, partial).CombinedOutput(); err != nil {
		_ = os.RemoveAll(partial)
		return fmt.Errorf("cp -a %s: %v: %s", src, err, strings.TrimSpace(string(out)))
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(partial, dst)
}

// removeUnder removes dir, which must lie under root.
func removeUnder(root, dir string) error {
	if rel, err := filepath.Rel(root, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is not under %s; not removing it", dir, root)
	}
	if err := os.RemoveAll(dir + ".partial"); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

type snapshotController struct {
	dyn       dynamic.Interface
	snapshots cache.GenericLister
	claims    corelisters.PersistentVolumeClaimLister
	volumes   corelisters.PersistentVolumeLister
	queue     workqueue.TypedRateLimitingInterface[string]
	root      string
}

func newSnapshotController(dyn dynamic.Interface, dynFactory dynamicinformer.DynamicSharedInformerFactory,
	factory informers.SharedInformerFactory, root string) *snapshotController {
	informer := dynFactory.ForResource(volumeSnapshotsGVR)
	c := &snapshotController{
		dyn:       dyn,
		snapshots: informer.Lister(),
		claims:    factory.Core().V1().PersistentVolumeClaims().Lister(),
		volumes:   factory.Core().V1().PersistentVolumes().Lister(),
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		root:      root,
	}
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	_, _ = informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c
}

// ensureDefaultClass makes the default VolumeSnapshotClass of the stand-in
// driver unless a class of that name exists.
func ensureDefaultClass(ctx context.Context, dyn dynamic.Interface) error {
	class := &volumeSnapshotClass{
		TypeMeta: metav1.TypeMeta{APIVersion: snapshotGroup + "/v1", Kind: "VolumeSnapshotClass"},
		ObjectMeta: metav1.ObjectMeta{Name: defaultSnapshotClass,
			Annotations: map[string]string{defaultClassAnnotation: "true"}},
		Driver:         csiDriver,
		DeletionPolicy: "Delete",
	}
	u, err := toUnstructured(class)
	if err != nil {
		return err
	}
	_, err = dyn.Resource(volumeSnapshotClassesGVR).Create(ctx, u, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create VolumeSnapshotClass %s: %w", defaultSnapshotClass, err)
	}
	klog.Infof("created VolumeSnapshotClass %s (default, driver %s)", defaultSnapshotClass, csiDriver)
	return nil
}

func (c *snapshotController) run(ctx context.Context) {
	runQueue(ctx, c.queue, 1, "volumesnapshot", c.sync)
}

func (c *snapshotController) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	obj, err := c.snapshots.ByNamespace(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	u := obj.(*unstructured.Unstructured).DeepCopy()
	var snap volumeSnapshot
	if err := fromUnstructured(u, &snap); err != nil {
		return err
	}
	if snap.DeletionTimestamp != nil {
		return c.release(ctx, u, &snap)
	}
	if snapshotReady(&snap) {
		return nil
	}

	classes, err := c.listClasses(ctx)
	if err != nil {
		return err
	}
	plan := planSnapshot(&snap,
		func(claim string) (*corev1.PersistentVolumeClaim, error) {
			return c.claims.PersistentVolumeClaims(namespace).Get(claim)
		},
		c.volumes.Get, classes)
	switch {
	case plan.waitFor != "":
		klog.V(1).Infof("volumesnapshot %s: waiting: %s", key, plan.waitFor)
		c.queue.AddAfter(key, time.Second)
		return nil
	case plan.fail != "":
		c.queue.AddAfter(key, 5*time.Second)
		if snap.Status != nil && snap.Status.Error != nil && ptr.Deref(snap.Status.Error.Message, "") == plan.fail {
			return nil // reported already
		}
		klog.Warningf("volumesnapshot %s: %s", key, plan.fail)
		return c.writeStatus(ctx, u, &volumeSnapshotStatus{ReadyToUse: ptr.To(false),
			Error: &snapshotError{Time: ptr.To(metav1.NewTime(time.Now().Truncate(time.Second))), Message: ptr.To(plan.fail)}})
	}

	if !slices.Contains(u.GetFinalizers(), snapshotFinalizer) {
		u.SetFinalizers(append(u.GetFinalizers(), snapshotFinalizer))
		if u, err = c.dyn.Resource(volumeSnapshotsGVR).Namespace(namespace).Update(ctx, u, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("add finalizer: %w", err)
		}
	}
	content, err := c.content(ctx, contentName(&snap))
	if err != nil {
		return err
	}
	if content == nil {
		dir := snapshotDir(c.root, namespace, name)
		taken := time.Now()
		if err := copyTree(plan.volume.Spec.HostPath.Path, dir); err != nil {
			return fmt.Errorf("copy PVC %s: %w", plan.claim.Name, err)
		}
		if content, err = c.createContent(ctx, contentForSnapshot(&snap, plan, dir, taken)); err != nil {
			return err
		}
		klog.Infof("volumesnapshot %s: took a copy of PVC %s (%s) in %s: VolumeSnapshotContent %s",
			key, plan.claim.Name, plan.volume.Spec.HostPath.Path, dir, content.Name)
	}
	return c.writeStatus(ctx, u, snapshotStatusFor(content))
}

func (c *snapshotController) listClasses(ctx context.Context) ([]*volumeSnapshotClass, error) {
	list, err := c.dyn.Resource(volumeSnapshotClassesGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	classes := make([]*volumeSnapshotClass, 0, len(list.Items))
	for i := range list.Items {
		var class volumeSnapshotClass
		if err := fromUnstructured(&list.Items[i], &class); err != nil {
			return nil, err
		}
		classes = append(classes, &class)
	}
	return classes, nil
}

// content reads a VolumeSnapshotContent (nil when it does not exist).
func (c *snapshotController) content(ctx context.Context, name string) (*volumeSnapshotContent, error) {
	u, err := c.dyn.Resource(volumeSnapshotContentsGVR).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var content volumeSnapshotContent
	if err := fromUnstructured(u, &content); err != nil {
		return nil, err
	}
	return &content, nil
}

// createContent creates content, then writes its status (a subresource).
func (c *snapshotController) createContent(ctx context.Context, content *volumeSnapshotContent) (*volumeSnapshotContent, error) {
	status := content.Status
	content.Status = nil
	u, err := toUnstructured(content)
	if err != nil {
		return nil, err
	}
	created, err := c.dyn.Resource(volumeSnapshotContentsGVR).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create VolumeSnapshotContent %s: %w", content.Name, err)
	}
	statusMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
	if err != nil {
		return nil, err
	}
	created.Object["status"] = statusMap
	if _, err := c.dyn.Resource(volumeSnapshotContentsGVR).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("status of VolumeSnapshotContent %s: %w", content.Name, err)
	}
	content.Status = status
	return content, nil
}

func (c *snapshotController) writeStatus(ctx context.Context, u *unstructured.Unstructured, status *volumeSnapshotStatus) error {
	statusMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(status)
	if err != nil {
		return err
	}
	u.Object["status"] = statusMap
	_, err = c.dyn.Resource(volumeSnapshotsGVR).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		c.queue.Add(u.GetNamespace() + "/" + u.GetName()) // a newer version is on its way
		return nil
	}
	return err
}

// release removes a deleted VolumeSnapshot's content and directory (unless
// its deletionPolicy is Retain), then its finalizer.
func (c *snapshotController) release(ctx context.Context, u *unstructured.Unstructured, snap *volumeSnapshot) error {
	if !slices.Contains(u.GetFinalizers(), snapshotFinalizer) {
		return nil
	}
	key := snap.Namespace + "/" + snap.Name
	name := contentName(snap)
	if snap.Status != nil && snap.Status.BoundVolumeSnapshotContentName != nil {
		name = *snap.Status.BoundVolumeSnapshotContentName
	}
	content, err := c.content(ctx, name)
	if err != nil {
		return err
	}
	if content != nil && content.Spec.DeletionPolicy == "Retain" {
		klog.Infof("volumesnapshot %s: deleted; VolumeSnapshotContent %s and its copy are retained", key, name)
	} else {
		if content != nil {
			err := c.dyn.Resource(volumeSnapshotContentsGVR).Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete VolumeSnapshotContent %s: %w", name, err)
			}
		}
		dir := snapshotDir(c.root, snap.Namespace, snap.Name)
		if err := removeUnder(c.root, dir); err != nil {
			return err
		}
		klog.Infof("volumesnapshot %s: deleted; removed VolumeSnapshotContent %s and %s", key, name, dir)
	}
	u.SetFinalizers(slices.DeleteFunc(u.GetFinalizers(), func(f string) bool { return f == snapshotFinalizer }))
	_, err = c.dyn.Resource(volumeSnapshotsGVR).Namespace(snap.Namespace).Update(ctx, u, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or a newer version is on its way
	}
	return err
}
