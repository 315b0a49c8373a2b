package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
// binding. When its claim is deleted the harness deletes the volume and its
// directory, as a Delete reclaim policy would.
const provisionedLabel = "e2e.volsync-ops/provisioned"

type volumeController struct {
	client  kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	queue   workqueue.TypedRateLimitingInterface[string]
	pvcRoot string
}

func newVolumeController(client kubernetes.Interface, factory informers.SharedInformerFactory, pvcRoot string) *volumeController {
	claimInformer := factory.Core().V1().PersistentVolumeClaims()
	volumeInformer := factory.Core().V1().PersistentVolumes()
	c := &volumeController{
		client:  client,
		claims:  claimInformer.Lister(),
		volumes: volumeInformer.Lister(),
		queue:   workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pvcRoot: pvcRoot,
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
	defer c.queue.ShutDown()
	go func() {
		for c.processNext(ctx) {
		}
	}()
	<-ctx.Done()
}

func (c *volumeController) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	var err error
	if name, ok := strings.CutPrefix(key, "volume:"); ok {
		err = c.syncVolume(ctx, name)
	} else {
		err = c.syncClaim(ctx, strings.TrimPrefix(key, "claim:"))
	}
	if err != nil {
		if ctx.Err() == nil {
			klog.Warningf("%s: %v", key, err)
		}
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
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
	if err := os.MkdirAll(pv.Spec.HostPath.Path, 0o755); err != nil {
		return err
	}
	_, err = c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		klog.Infof("claim %s: created volume %s at %s", key, pv.Name, pv.Spec.HostPath.Path)
	}
	return err
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
