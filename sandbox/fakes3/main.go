// Command fakes3 serves an S3 API on loopback for the e2e tier, standing in
// for Cloudflare R2. It wraps the gofakes3 library: objects live in memory, or
// in a bbolt file with --db so that a restart keeps the repositories.
//
// One test knob, off by default: FAKES3_READ_RATE=<bytes per second> in its
// environment makes it answer GETs one at a time, each body sent no faster
// than that, so that a restic restore of a few MB lasts long enough for a test
// to watch it make progress, pack after pack (test/e2e/restore-writers.bats).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// version is the gofakes3 release this command is built against (see go.mod).
const version = "gofakes3 v1.2.0"

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to serve the S3 API on (loopback only)")
	db := flag.String("db", "", "bbolt file to keep objects in; empty keeps them in memory")
	buckets := flag.String("buckets", "", "comma-separated buckets to create at start")
	verbose := flag.Bool("v", false, "log every request")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println(version)
		return
	}
	if err := run(*listen, *db, *buckets, *verbose); err != nil {
		log.Fatalf("fakes3: %v", err)
	}
}

func run(listen, db, buckets string, verbose bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %q: only loopback addresses are allowed", listen)
	}

	backend, err := newBackend(db)
	if err != nil {
		return err
	}
	for _, name := range strings.Split(buckets, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if err := backend.CreateBucket(name); err != nil && !gofakes3.IsAlreadyExists(err) {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
	}

	opts := []gofakes3.Option{gofakes3.WithAutoBucket(false)}
	if verbose {
		opts = append(opts, gofakes3.WithLogger(gofakes3.GlobalLog()))
	}
	faker := gofakes3.New(backend, opts...)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	handler := faker.Server()
	rate, err := readRate(os.Getenv("FAKES3_READ_RATE"))
	if err != nil {
		return err
	}
	if rate > 0 {
		handler = throttled(handler, rate)
		log.Printf("fakes3: response bodies throttled to %d bytes/s (FAKES3_READ_RATE)", rate)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	log.Printf("fakes3: %s serving on http://%s (db=%q)", version, ln.Addr(), db)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newBackend(db string) (gofakes3.Backend, error) {
	if db == "" {
		return s3mem.New(), nil
	}
	return s3bolt.NewFile(db)
}

// readRate parses FAKES3_READ_RATE: empty or 0 means no throttle.
func readRate(text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	rate, err := strconv.Atoi(text)
	if err != nil || rate < 0 {
		return 0, fmt.Errorf("FAKES3_READ_RATE=%q: want bytes per second (an integer)", text)
	}
	return rate, nil
}

// throttled answers GETs one at a time, each body at no more than rate bytes per second.
func throttled(next http.Handler, rate int) http.Handler {
	var one sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		one.Lock()
		defer one.Unlock()
		next.ServeHTTP(&slowWriter{ResponseWriter: w, rate: rate}, r)
	})
}

type slowWriter struct {
	http.ResponseWriter
	rate int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	chunk := max(s.rate/10, 1)
	written := 0
	for len(p) > 0 {
		n := min(chunk, len(p))
		m, err := s.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		time.Sleep(time.Duration(n) * time.Second / time.Duration(s.rate))
		p = p[n:]
	}
	return written, nil
}
