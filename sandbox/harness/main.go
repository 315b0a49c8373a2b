// Command harness stands in for the kubelet (and for the Job controller of
// VolSync's mover Jobs) in the e2e tier, where no container runtime exists.
//
// It registers one Node, binds every unscheduled Pod to it, runs the
// containers it knows how to run (the VolSync restic mover and plain restic)
// as local processes with the Pod's environment and volumes, and serves their
// logs to the API server's kubelet proxy so that `kubectl logs` works. Every
// other Pod is reported Running and Ready and never exits. PersistentVolumeClaims
// get a hostPath PersistentVolume whose directory is <data-dir>/pvcs/<ns>/<claim>,
// and a stand-in CSI driver takes VolumeSnapshots of them (copies in
// <data-dir>/snapshots/<ns>/<name>) and provisions PVCs from a VolumeSnapshot
// or another PVC (a clone), for VolSync's copyMethod Snapshot and Clone.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// version names this program in logs and in the Node's runtime version.
const version = "volsync-ops-harness 0.1.0"

type config struct {
	kubeconfig  string
	nodeName    string
	listen      string
	tlsCert     string
	tlsKey      string
	clientCA    string
	dataDir     string
	binDir      string
	moverDir    string
	moverImage  string
	retryDelay  time.Duration
	userNS      string
	showVersion bool
}

func main() {
	// The sandbox helper runs inside a fresh mount namespace, before anything else.
	if len(os.Args) > 1 && os.Args[1] == sandboxExecArg {
		os.Exit(sandboxExecMain(os.Args[2:]))
	}

	var cfg config
	klog.InitFlags(nil)
	flag.StringVar(&cfg.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server")
	flag.StringVar(&cfg.nodeName, "node-name", "sandbox-node", "name of the Node to register")
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:10250", "loopback address of the kubelet HTTPS endpoint")
	flag.StringVar(&cfg.tlsCert, "tls-cert-file", "", "serving certificate of the kubelet endpoint")
	flag.StringVar(&cfg.tlsKey, "tls-private-key-file", "", "key of the serving certificate")
	flag.StringVar(&cfg.clientCA, "client-ca-file", "", "CA that signs the API server's kubelet client certificate")
	flag.StringVar(&cfg.dataDir, "data-dir", "", "directory for PVC data, pod logs and pod roots")
	flag.StringVar(&cfg.binDir, "bin-dir", "", "directory with restic, put first on the PATH of every container")
	flag.StringVar(&cfg.moverDir, "mover-dir", "", "VolSync's mover-restic directory (holds entry.sh), seen as /mover-restic")
	flag.StringVar(&cfg.moverImage, "mover-image", "restic-mover:e2e", "image VolSync is told to use for restic movers")
	flag.DurationVar(&cfg.retryDelay, "job-retry-delay", time.Second, "delay before a failed mover Job gets a new pod")
	flag.StringVar(&cfg.userNS, "user-namespace", "auto", "run containers in a new user namespace too (needed without root): auto (when not root), true or false")
	flag.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	flag.Parse()

	if cfg.showVersion {
		fmt.Println(version)
		return
	}
	if err := run(cfg); err != nil {
		klog.Errorf("harness: %v", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	for name, value := range map[string]string{
		"--kubeconfig": cfg.kubeconfig, "--tls-cert-file": cfg.tlsCert, "--tls-private-key-file": cfg.tlsKey,
		"--client-ca-file": cfg.clientCA, "--data-dir": cfg.dataDir, "--bin-dir": cfg.binDir, "--mover-dir": cfg.moverDir,
	} {
		if value == "" {
			return fmt.Errorf("%s is required", name)
		}
	}
	var err error
	if cfg.dataDir, err = filepath.Abs(cfg.dataDir); err != nil {
		return err
	}
	userNamespace, err := chooseUserNamespace(cfg.userNS)
	if err != nil {
		return err
	}

	restConfig, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", cfg.kubeconfig, err)
	}
	restConfig.QPS, restConfig.Burst = 50, 100
	restConfig.UserAgent = version
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	port, err := portOf(cfg.listen)
	if err != nil {
		return err
	}
	node := &nodeAgent{client: client, name: cfg.nodeName, port: port}
	if err := node.register(ctx); err != nil {
		return err
	}
	go node.heartbeat(ctx)
	if err := ensureDefaultClass(ctx, dyn); err != nil {
		return err
	}

	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	dynFactory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Minute)
	runtime := &containerRuntime{
		dataDir:       cfg.dataDir,
		binDir:        cfg.binDir,
		moverDir:      cfg.moverDir,
		moverImage:    cfg.moverImage,
		userNamespace: userNamespace,
	}
	pods := newPodController(client, factory, cfg.nodeName, runtime)
	jobs := newJobController(client, factory, cfg.retryDelay)
	snapshotRoot := filepath.Join(cfg.dataDir, "snapshots")
	volumes := newVolumeController(client, factory, dynFactory, filepath.Join(cfg.dataDir, "pvcs"), snapshotRoot)
	snapshots := newSnapshotController(dyn, dynFactory, factory, snapshotRoot)

	logServer, err := newLogServer(cfg, pods)
	if err != nil {
		return err
	}
	go func() {
		if err := logServer.serve(ctx); err != nil {
			klog.Errorf("kubelet endpoint: %v", err)
			stop()
		}
	}()

	factory.Start(ctx.Done())
	dynFactory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	for gvr, ok := range dynFactory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", gvr)
		}
	}
	klog.Infof("%s: node %s ready, kubelet endpoint https://%s, user namespace=%v", version, cfg.nodeName, cfg.listen, userNamespace)

	go pods.run(ctx)
	go jobs.run(ctx)
	go volumes.run(ctx)
	go snapshots.run(ctx)
	<-ctx.Done()
	runtime.killAll()
	return nil
}

func chooseUserNamespace(mode string) (bool, error) {
	switch mode {
	case "auto":
		return os.Geteuid() != 0, nil
	case "true", "false":
		return mode == "true", nil
	}
	return false, fmt.Errorf("--user-namespace %q: want auto, true or false", mode)
}
