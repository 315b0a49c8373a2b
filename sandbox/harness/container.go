package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// moverEntrypoint is the command VolSync gives its restic mover container.
const moverEntrypoint = "/mover-restic/entry.sh"

// moverMountPath is where the mover image holds entry.sh; the harness shows
// VolSync's own mover-restic directory from the Go module cache there.
const moverMountPath = "/mover-restic"

// entrypoint returns the command line of a container the harness can run, and
// false for any other container (application workloads, which only pretend).
//
//   - VolSync's restic mover: its image is --mover-image or its command is
//     /mover-restic/entry.sh.
//   - restic: a command named restic (any directory), or an image whose
//     repository ends in "restic" (restic/restic), whose entrypoint is restic.
func entrypoint(c corev1.Container, moverImage string) ([]string, bool) {
	argv := append(append([]string{}, c.Command...), c.Args...)
	switch {
	case len(c.Command) > 0 && c.Command[0] == moverEntrypoint:
		return argv, true
	case c.Image == moverImage:
		return argv, len(c.Command) > 0
	case len(c.Command) > 0 && path.Base(c.Command[0]) == "restic":
		argv[0] = "restic"
		return argv, true
	case imageRepository(c.Image) == "restic" || strings.HasSuffix(imageRepository(c.Image), "/restic"):
		if len(c.Command) == 0 {
			return append([]string{"restic"}, c.Args...), true
		}
		if path.Base(argv[0]) == "restic" {
			argv[0] = "restic"
		}
		return argv, true
	}
	return nil, false
}

// imageRepository strips the tag and digest: docker.io/restic/restic:0.18.1 -> docker.io/restic/restic.
func imageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		image = image[:i]
	}
	return image
}

func isMover(c corev1.Container, moverImage string) bool {
	return (len(c.Command) > 0 && c.Command[0] == moverEntrypoint) || c.Image == moverImage
}

// envResolver reads the Secrets and ConfigMaps a container's environment refers to.
type envResolver struct {
	ctx        context.Context
	client     kubernetes.Interface
	namespace  string
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func newEnvResolver(ctx context.Context, client kubernetes.Interface, namespace string) *envResolver {
	return &envResolver{ctx: ctx, client: client, namespace: namespace,
		secrets: map[string]*corev1.Secret{}, configMaps: map[string]*corev1.ConfigMap{}}
}

func (r *envResolver) secret(name string) (map[string]string, error) {
	s, ok := r.secrets[name]
	if !ok {
		var err error
		s, err = r.client.CoreV1().Secrets(r.namespace).Get(r.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s = nil
		} else if err != nil {
			return nil, err
		}
		r.secrets[name] = s
	}
	if s == nil {
		return nil, nil
	}
	data := map[string]string{}
	for k, v := range s.Data {
		data[k] = string(v)
	}
	for k, v := range s.StringData {
		data[k] = v
	}
	return data, nil
}

func (r *envResolver) configMap(name string) (map[string]string, error) {
	cm, ok := r.configMaps[name]
	if !ok {
		var err error
		cm, err = r.client.CoreV1().ConfigMaps(r.namespace).Get(r.ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = nil
		} else if err != nil {
			return nil, err
		}
		r.configMaps[name] = cm
	}
	if cm == nil {
		return nil, nil
	}
	data := map[string]string{}
	for k, v := range cm.BinaryData {
		data[k] = string(v)
	}
	for k, v := range cm.Data {
		data[k] = v
	}
	return data, nil
}

// configError is a problem the kubelet reports as CreateContainerConfigError.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// containerEnv resolves env and envFrom the way the kubelet does: envFrom
// first, then env in order (later names win), with $(VAR) expansion.
func containerEnv(pod *corev1.Pod, c corev1.Container, r *envResolver) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var err error
		var optional bool
		var what string
		switch {
		case from.SecretRef != nil:
			what = "secret " + from.SecretRef.Name
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
			data, err = r.secret(from.SecretRef.Name)
		case from.ConfigMapRef != nil:
			what = "configmap " + from.ConfigMapRef.Name
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			data, err = r.configMap(from.ConfigMapRef.Name)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if data == nil {
			if optional {
				continue
			}
			return nil, &configError{fmt.Sprintf("%s not found", what)}
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandEnv(e.Value, env)
			continue
		}
		value, ok, err := envValueFrom(pod, e, r)
		if err != nil {
			return nil, err
		}
		if ok {
			env[e.Name] = value
		}
	}
	return env, nil
}

func envValueFrom(pod *corev1.Pod, e corev1.EnvVar, r *envResolver) (string, bool, error) {
	from := e.ValueFrom
	switch {
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		return keyValue(r.secret, "secret", ref.Name, ref.Key, ref.Optional)
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		return keyValue(r.configMap, "configmap", ref.Name, ref.Key, ref.Optional)
	case from.FieldRef != nil:
		value, err := podField(pod, from.FieldRef.FieldPath)
		return value, err == nil, err
	}
	return "", false, nil // resourceFieldRef and fileKeyRef: not needed by the tier
}

func keyValue(read func(string) (map[string]string, error), kind, name, key string, optional *bool) (string, bool, error) {
	data, err := read(name)
	if err != nil {
		return "", false, err
	}
	isOptional := optional != nil && *optional
	if data == nil {
		if isOptional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("%s %q not found", kind, name)}
	}
	value, ok := data[key]
	if !ok {
		if isOptional {
			return "", false, nil
		}
		return "", false, &configError{fmt.Sprintf("couldn't find key %s in %s %s", key, kind, name)}
	}
	return value, true, nil
}

func podField(pod *corev1.Pod, fieldPath string) (string, error) {
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return "127.0.0.1", nil
	}
	for prefix, values := range map[string]map[string]string{
		"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations,
	} {
		if strings.HasPrefix(fieldPath, prefix+"['") && strings.HasSuffix(fieldPath, "']") {
			return values[strings.TrimSuffix(strings.TrimPrefix(fieldPath, prefix+"['"), "']")], nil
		}
	}
	return "", &configError{fmt.Sprintf("unsupported fieldRef %q", fieldPath)}
}

// expandEnv replaces $(NAME) with NAME's value when NAME is defined and turns
// $$ into $, as the kubelet does for env values, command and args.
func expandEnv(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte(s[i])
				continue
			}
			name := s[i+2 : i+2+end]
			if value, ok := env[name]; ok {
				b.WriteString(value)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// mount shows a local directory (or file) at a path inside the container.
type mount struct {
	Host      string `json:"host"`
	Container string `json:"container"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// volumeSources maps each volume of the pod the harness can provide to a
// local path: a PVC to <pvcRoot>/<namespace>/<claim>, an emptyDir, Secret or
// ConfigMap to a directory of the pod, a hostPath to itself.
func volumeSources(pod *corev1.Pod, pvcRoot, podDir string, r *envResolver) (map[string]string, error) {
	sources := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		local := filepath.Join(podDir, "volumes", v.Name)
		switch {
		case v.PersistentVolumeClaim != nil:
			dir := pvcDir(pvcRoot, pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			sources[v.Name] = dir
		case v.EmptyDir != nil:
			if err := os.MkdirAll(local, 0o777); err != nil {
				return nil, err
			}
			sources[v.Name] = local
		case v.HostPath != nil:
			sources[v.Name] = v.HostPath.Path
		case v.Secret != nil:
			data, err := r.secret(v.Secret.SecretName)
			if err != nil {
				return nil, err
			}
			optional := v.Secret.Optional != nil && *v.Secret.Optional
			if err := writeVolumeFiles(local, "secret "+v.Secret.SecretName, data, v.Secret.Items, optional); err != nil {
				return nil, err
			}
			sources[v.Name] = local
		case v.ConfigMap != nil:
			data, err := r.configMap(v.ConfigMap.Name)
			if err != nil {
				return nil, err
			}
			optional := v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
			if err := writeVolumeFiles(local, "configmap "+v.ConfigMap.Name, data, v.ConfigMap.Items, optional); err != nil {
				return nil, err
			}
			sources[v.Name] = local
		}
	}
	return sources, nil
}

func writeVolumeFiles(dir, what string, data map[string]string, items []corev1.KeyToPath, optional bool) error {
	if data == nil && !optional {
		return &configError{what + " not found"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = v
		}
	}
	for _, item := range items {
		value, ok := data[item.Key]
		if !ok {
			if optional {
				continue
			}
			return &configError{fmt.Sprintf("couldn't find key %s in %s", item.Key, what)}
		}
		files[item.Path] = value
	}
	for name, value := range files {
		target := filepath.Join(dir, filepath.Clean("/"+name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, []byte(value), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func pvcDir(pvcRoot, namespace, claim string) string {
	return filepath.Join(pvcRoot, namespace, claim)
}

// containerMounts lists the container's volumeMounts as local mounts. A
// volume the harness cannot provide is left out.
func containerMounts(c corev1.Container, sources map[string]string) []mount {
	var mounts []mount
	for _, vm := range c.VolumeMounts {
		host, ok := sources[vm.Name]
		if !ok {
			continue
		}
		if vm.SubPath != "" {
			host = filepath.Join(host, filepath.Clean("/"+vm.SubPath))
		}
		mounts = append(mounts, mount{Host: host, Container: path.Clean(vm.MountPath), ReadOnly: vm.ReadOnly})
	}
	sort.Slice(mounts, func(i, j int) bool { return mounts[i].Container < mounts[j].Container })
	return mounts
}

func hasMountAt(mounts []mount, containerPath string) bool {
	for _, m := range mounts {
		if m.Container == containerPath {
			return true
		}
	}
	return false
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}
