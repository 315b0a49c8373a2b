package main

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// nodeAgent keeps the harness's Node registered and Ready. The API server
// reaches the kubelet endpoint through the Node's InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port.
type nodeAgent struct {
	client kubernetes.Interface
	name   string
	port   int32
}

const heartbeatInterval = 20 * time.Second

func (n *nodeAgent) register(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: n.name,
		Labels: map[string]string{
			corev1.LabelHostname:   n.name,
			corev1.LabelOSStable:   "linux",
			corev1.LabelArchStable: runtime.GOARCH,
		},
	}}
	created, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.name, err)
	}
	return n.updateStatus(ctx, created)
}

func (n *nodeAgent) heartbeat(ctx context.Context) {
	ticker := time.NewTicker(heartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		node, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err == nil {
			err = n.updateStatus(ctx, node)
		}
		if err != nil && ctx.Err() == nil {
			klog.Warningf("node heartbeat: %v", err)
		}
	}
}

func (n *nodeAgent) updateStatus(ctx context.Context, node *corev1.Node) error {
	node = node.DeepCopy()
	node.Status = nodeStatus(n.name, n.port, node.Status.Conditions, metav1.Now())
	_, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// nodeStatus is the status of a healthy node whose kubelet listens on port.
func nodeStatus(name string, port int32, previous []corev1.NodeCondition, now metav1.Time) corev1.NodeStatus {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("2"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("50Gi"),
	}
	condition := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
		transition := now
		for _, old := range previous {
			if old.Type == typ && old.Status == status {
				transition = old.LastTransitionTime
			}
		}
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: message,
			LastHeartbeatTime: now, LastTransitionTime: transition}
	}
	return corev1.NodeStatus{
		Capacity:    resources,
		Allocatable: resources,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "harness has sufficient memory"),
			condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "harness has no disk pressure"),
			condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "harness has sufficient PID"),
			condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "e2e harness is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
			{Type: corev1.NodeHostName, Address: name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               "volsync-ops-e2e",
			SystemUUID:              "volsync-ops-e2e",
			BootID:                  "volsync-ops-e2e",
			KernelVersion:           "harness",
			OSImage:                 "volsync-ops e2e harness",
			ContainerRuntimeVersion: "harness://" + version,
			KubeletVersion:          "v1.35.4",
			KubeProxyVersion:        "",
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
	}
}

func portOf(address string) (int32, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return 0, fmt.Errorf("--listen %q: %w", address, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return 0, fmt.Errorf("--listen %q: only loopback addresses are allowed", address)
	}
	port, err := strconv.ParseInt(portText, 10, 32)
	if err != nil || port <= 0 {
		return 0, fmt.Errorf("--listen %q: bad port", address)
	}
	return int32(port), nil
}
