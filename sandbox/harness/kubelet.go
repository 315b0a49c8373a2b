package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"k8s.io/klog/v2"
)

// logServer is the part of the kubelet API that the API server's pods/log
// and pods/exec subresources proxy to: GET /containerLogs/{namespace}/{pod}/{container}
// and /exec/{namespace}/{pod}/{container} (exec.go).
type logServer struct {
	listen string
	tls    *tls.Config
	pods   logSource
}

// logSource finds the log of a container and tells whether it still runs.
type logSource interface {
	containerLog(namespace, pod, container string) (path string, running func() bool, err error)
}

// errNotFound is answered with 404.
var errNotFound = errors.New("not found")

func newLogServer(cfg config, pods logSource) (*logServer, error) {
	cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("kubelet serving certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.clientCA)
	if err != nil {
		return nil, fmt.Errorf("kubelet client CA: %w", err)
	}
	clientCAs := x509.NewCertPool()
	if !clientCAs.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("kubelet client CA %s holds no certificate", cfg.clientCA)
	}
	return &logServer{
		listen: cfg.listen,
		pods:   pods,
		tls: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientCAs:    clientCAs,
			// Only the API server (its --kubelet-client-certificate) may read logs.
			ClientAuth: tls.RequireAndVerifyClientCert,
			MinVersion: tls.VersionTLS12,
		},
	}, nil
}

func (s *logServer) serve(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	if target, ok := s.pods.(execTarget); ok {
		for _, route := range []string{"/exec/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{uid}/{container}"} {
			mux.HandleFunc("GET "+route, serveExec(target))
			mux.HandleFunc("POST "+route, serveExec(target))
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the e2e harness only serves /containerLogs, /exec and /healthz", http.StatusNotImplemented)
	})
	listener, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: mux, TLSConfig: s.tls, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	err = server.ServeTLS(listener, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *logServer) containerLogs(w http.ResponseWriter, r *http.Request) {
	namespace, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, err := parseLogQuery(r, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path, running, err := s.pods.containerLog(namespace, pod, container)
	if errors.Is(err, errNotFound) {
		http.Error(w, fmt.Sprintf("container %q in pod %s/%s not found", container, namespace, pod), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	if err := streamLog(r.Context(), path, opts, running, w, flush); err != nil {
		klog.Warningf("logs of %s/%s/%s: %v", namespace, pod, container, err)
	}
}

// parseLogQuery reads the query the API server builds from PodLogOptions.
func parseLogQuery(r *http.Request, now time.Time) (logOptions, error) {
	q := r.URL.Query()
	var o logOptions
	var err error
	if o.follow, err = boolParam(q.Get("follow")); err != nil {
		return o, fmt.Errorf("follow: %w", err)
	}
	if o.timestamps, err = boolParam(q.Get("timestamps")); err != nil {
		return o, fmt.Errorf("timestamps: %w", err)
	}
	if previous, _ := boolParam(q.Get("previous")); previous {
		return o, errors.New("previous: containers are never restarted by the e2e harness")
	}
	if o.tailLines, err = intParam(q.Get("tailLines")); err != nil {
		return o, fmt.Errorf("tailLines: %w", err)
	}
	if o.limitBytes, err = intParam(q.Get("limitBytes")); err != nil {
		return o, fmt.Errorf("limitBytes: %w", err)
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return o, fmt.Errorf("sinceTime: %w", err)
		}
		o.sinceTime = &t
	}
	if seconds, err := intParam(q.Get("sinceSeconds")); err != nil {
		return o, fmt.Errorf("sinceSeconds: %w", err)
	} else if seconds != nil {
		t := now.Add(-time.Duration(*seconds) * time.Second)
		o.sinceTime = &t
	}
	return o, nil
}

func boolParam(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

func intParam(v string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, err
	}
	return &n, nil
}
