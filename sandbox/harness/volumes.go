package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// provisionedLabel marks the PersistentVolumes the harness makes. Each is a
// hostPath volume on the PVC's directory, pre-bound to the claim; the
// persistentvolume-binder controller of kube-controller-manager completes the
// binding. The directory starts empty, or as a copy of the claim's data
// source: a ready VolumeSnapshot (its copy, see snapshots.go) or a Bound PVC
// (a clone: a copy of that PVC's directory as it is then). When its claim is
// deleted the harness deletes the volume and its directory, as a Delete
// reclaim policy would.
const provisionedLabel = "e2e.volsync-ops/provisioned"

type volumeController struct {
	client       kubernetes.Interface
	claims       corelisters.PersistentVolumeClaimLister
	volumes      corelisters.PersistentVolumeLister
	snapshots    cache.GenericLister
	queue        workqueue.TypedRateLimitingInterface[string]
	pvcRoot      string
	snapshotRoot string

	mu      sync.Mutex
	waiting map[string]string // claim key -> why it is not provisioned yet (logged once)
}

func newVolumeController(client kubernetes.Interface, factory informers.SharedInformerFactory,
	dynFactory dynamicinformer.DynamicSharedInformerFactory, pvcRoot, snapshotRoot string) *volumeController {
	claimInformer := factory.Core().V1().PersistentVolumeClaims()
	volumeInformer := factory.Core().V1().PersistentVolumes()
	c := &volumeController{
		client:       client,
		claims:       claimInformer.Lister(),
		volumes:      volumeInformer.Lister(),
		snapshots:    dynFactory.ForResource(volumeSnapshotsGVR).Lister(),
		queue:        workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pvcRoot:      pvcRoot,
		snapshotRoot: snapshotRoot,
		waiting:      map[string]string{},
	}
	enqueueClaim := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add("claim:" + key)
		}
	}
	_, _ = claimInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueClaim,
		UpdateFunc: func(_, obj any) { enqueueClaim(obj) },
	})
	enqueueVolume := func(obj any) {
		if pv, ok := obj.(*corev1.PersistentVolume); ok && pv.Labels[provisionedLabel] == "true" {
			c.queue.Add("volume:" + pv.Name)
		}
	}
	_, _ = volumeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueVolume,
		UpdateFunc: func(_, obj any) { enqueueVolume(obj) },
	})
	return c
}

func (c *volumeController) run(ctx context.Context) {
	// keys are "volume:<name>" or "claim:<namespace>/<name>"; logged as "volume claim:ns/name: ..."
	runQueue(ctx, c.queue, 1, "volume", c.sync)
}

func (c *volumeController) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, "volume:"); ok {
		return c.syncVolume(ctx, name)
	}
	return c.syncClaim(ctx, strings.TrimPrefix(key, "claim:"))
}

func (c *volumeController) syncClaim(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := c.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if claim.DeletionTimestamp != nil || claim.Spec.VolumeName != "" || claim.Status.Phase != corev1.ClaimPending {
		return nil
	}
	pv := volumeForClaim(claim, c.pvcRoot)
	if _, err := c.volumes.Get(pv.Name); err == nil {
		return nil
	}
	source := sourceForClaim(claim, c.snapshotOf(namespace),
		func(name string) (*corev1.PersistentVolumeClaim, error) {
			return c.claims.PersistentVolumeClaims(namespace).Get(name)
		},
		c.volumes.Get, c.snapshotRoot)
	if source.waitFor != "" || source.unsupported != "" {
		c.noteWaiting(key, source)
		if source.waitFor != "" {
			c.queue.AddAfter("claim:"+key, time.Second)
		}
		return nil
	}
	c.noteWaiting(key, source)
	dir := pv.Spec.HostPath.Path
	if source.dir == "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	} else if err := copyTree(source.dir, dir); err != nil {
		return fmt.Errorf("copy %s: %w", source.what, err)
	}
	_, err = c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil && source.dir != "" {
		klog.Infof("claim %s: created volume %s at %s, a copy of %s", key, pv.Name, dir, source.what)
	} else if err == nil {
		klog.Infof("claim %s: created volume %s at %s", key, pv.Name, dir)
	}
	return err
}

// noteWaiting logs once why a claim is not provisioned yet, and forgets it once it is.
func (c *volumeController) noteWaiting(key string, source claimSource) {
	why := source.waitFor + source.unsupported
	c.mu.Lock()
	defer c.mu.Unlock()
	if why == "" {
		delete(c.waiting, key)
		return
	}
	if c.waiting[key] == why {
		return
	}
	c.waiting[key] = why
	if source.unsupported != "" {
		klog.Warningf("claim %s: not provisioned: %s", key, why)
	} else {
		klog.Infof("claim %s: waiting: %s", key, why)
	}
}

func (c *volumeController) snapshotOf(namespace string) func(name string) (*volumeSnapshot, error) {
	return func(name string) (*volumeSnapshot, error) {
		obj, err := c.snapshots.ByNamespace(namespace).Get(name)
		if err != nil {
			return nil, err
		}
		var snap volumeSnapshot
		if err := fromUnstructured(obj, &snap); err != nil {
			return nil, err
		}
		return &snap, nil
	}
}

// claimSource is where a new volume's data comes from.
type claimSource struct {
	dir         string // the directory to copy ("" for an empty volume)
	what        string // the data source, for logs
	waitFor     string // not yet: why (retried)
	unsupported string // a data source the harness cannot provide: left Pending
}

// sourceForClaim reads the claim's data source (dataSourceRef, else
// dataSource): a VolumeSnapshot must be ready to use, a PVC (a clone) Bound
// to a volume of the harness; lookups are in the claim's namespace.
func sourceForClaim(claim *corev1.PersistentVolumeClaim, snapshotOf func(string) (*volumeSnapshot, error),
	claimOf func(string) (*corev1.PersistentVolumeClaim, error), volumeOf func(string) (*corev1.PersistentVolume, error),
	snapshotRoot string) claimSource {
	var group, kind, name string
	switch ref, src := claim.Spec.DataSourceRef, claim.Spec.DataSource; {
	case ref != nil:
		if ref.Namespace != nil && *ref.Namespace != claim.Namespace {
			return claimSource{unsupported: fmt.Sprintf("data source %s %s/%s: the e2e harness does not copy across namespaces", ref.Kind, *ref.Namespace, ref.Name)}
		}
		group, kind, name = ptr.Deref(ref.APIGroup, ""), ref.Kind, ref.Name
	case src != nil:
		group, kind, name = ptr.Deref(src.APIGroup, ""), src.Kind, src.Name
	default:
		return claimSource{}
	}
	switch {
	case group == snapshotGroup && kind == "VolumeSnapshot":
		what := "VolumeSnapshot " + name
		snap, err := snapshotOf(name)
		if err != nil {
			return claimSource{waitFor: fmt.Sprintf("%s: %v", what, err)}
		}
		if !snapshotReady(snap) {
			return claimSource{waitFor: what + " is not ready to use"}
		}
		return claimSource{dir: snapshotDir(snapshotRoot, claim.Namespace, name), what: what}
	case group == "" && kind == "PersistentVolumeClaim":
		what := "PVC " + name
		source, err := claimOf(name)
		if err != nil {
			return claimSource{waitFor: fmt.Sprintf("clone source %s: %v", what, err)}
		}
		if source.Status.Phase != corev1.ClaimBound || source.Spec.VolumeName == "" {
			return claimSource{waitFor: fmt.Sprintf("clone source %s is not Bound", what)}
		}
		volume, err := volumeOf(source.Spec.VolumeName)
		if err != nil {
			return claimSource{waitFor: fmt.Sprintf("clone source %s: PersistentVolume %s: %v", what, source.Spec.VolumeName, err)}
		}
		if volume.Labels[provisionedLabel] != "true" || volume.Spec.HostPath == nil {
			return claimSource{unsupported: fmt.Sprintf("clone source %s is on PersistentVolume %s, which the e2e harness did not make", what, volume.Name)}
		}
		return claimSource{dir: volume.Spec.HostPath.Path, what: what}
	}
	if group != "" {
		kind += "." + group
	}
	return claimSource{unsupported: fmt.Sprintf("data source %s %s is not one the e2e harness provides (VolumeSnapshot, PersistentVolumeClaim)", kind, name)}
}

// volumeForClaim is a hostPath volume pre-bound to claim, on <root>/<ns>/<claim>.
func volumeForClaim(claim *corev1.PersistentVolumeClaim, root string) *corev1.PersistentVolume {
	size := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	accessModes := claim.Spec.AccessModes
	if len(accessModes) == 0 {
		accessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "pvc-" + string(claim.UID),
			Labels:      map[string]string{provisionedLabel: "true"},
			Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": "volsync-ops-e2e-harness"},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes: accessModes,
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: pvcDir(root, claim.Namespace, claim.Name),
				Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}},
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
			},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              ptr.Deref(claim.Spec.StorageClassName, ""),
			VolumeMode:                    claim.Spec.VolumeMode,
		},
	}
}

// syncVolume deletes a released volume of ours and the directory of its claim.
func (c *volumeController) syncVolume(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Status.Phase != corev1.VolumeReleased || pv.Spec.ClaimRef == nil || pv.Spec.HostPath == nil {
		return nil
	}
	ref := pv.Spec.ClaimRef
	dir := pv.Spec.HostPath.Path
	if rel, err := filepath.Rel(c.pvcRoot, dir); err != nil || strings.HasPrefix(rel, "..") || rel == "." {
		return fmt.Errorf("volume %s: %s is not under %s; not removing it", name, dir, c.pvcRoot)
	}
	// A new claim of the same name uses the same directory: keep its data.
	if claim, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name); err == nil && claim.UID != ref.UID {
		klog.Infof("volume %s: claim %s/%s was recreated; keeping %s", name, ref.Namespace, ref.Name, dir)
	} else if err := os.RemoveAll(dir); err != nil {
		return err
	}
	err = c.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	if err == nil {
		klog.Infof("volume %s: claim %s/%s deleted; removed the volume and %s", name, ref.Namespace, ref.Name, dir)
	}
	return err
}
