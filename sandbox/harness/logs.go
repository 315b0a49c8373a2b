package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// A container log is stored like the CRI stores it: one line per output line,
// prefixed with the time it was written, so that the kubelet's log options
// (timestamps, sinceTime, tailLines) can be answered.

type logWriter struct {
	mu      sync.Mutex
	file    *os.File
	partial []byte
	now     func() time.Time
}

func newLogWriter(path string) (*logWriter, error) {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &logWriter{file: file, now: time.Now}, nil
}

// Write stores every complete line of p; stdout and stderr share one writer.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := w.writeLine(w.partial[:i]); err != nil {
			return 0, err
		}
		w.partial = w.partial[i+1:]
	}
}

// Line writes one line of the harness's own (for example why a container
// could not start), as a kubelet event would tell.
func (w *logWriter) Line(text string) {
	_, _ = w.Write([]byte(text + "\n"))
}

func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		_ = w.writeLine(w.partial)
		w.partial = nil
	}
	return w.file.Close()
}

func (w *logWriter) writeLine(line []byte) error {
	stamp := w.now().UTC().Format(time.RFC3339Nano)
	_, err := w.file.Write(append(append([]byte(stamp+" "), line...), '\n'))
	return err
}

type logOptions struct {
	follow     bool
	timestamps bool
	tailLines  *int64
	limitBytes *int64
	sinceTime  *time.Time
}

type logRecord struct {
	time time.Time
	text string
}

func parseLogRecord(line string) logRecord {
	stamp, text, found := strings.Cut(line, " ")
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if !found || err != nil {
		return logRecord{text: line}
	}
	return logRecord{time: t, text: text}
}

func (o logOptions) render(r logRecord) string {
	if o.timestamps {
		return r.time.Format(time.RFC3339Nano) + " " + r.text + "\n"
	}
	return r.text + "\n"
}

func (o logOptions) keep(r logRecord) bool {
	return o.sinceTime == nil || !r.time.Before(*o.sinceTime)
}

// selectLines applies sinceTime and tailLines to the records written so far.
func selectLines(records []logRecord, o logOptions) []logRecord {
	kept := records[:0:0]
	for _, r := range records {
		if o.keep(r) {
			kept = append(kept, r)
		}
	}
	if o.tailLines != nil && *o.tailLines >= 0 && int64(len(kept)) > *o.tailLines {
		kept = kept[int64(len(kept))-*o.tailLines:]
	}
	return kept
}

// limitedWriter stops accepting output after limit bytes (limitBytes).
type limitedWriter struct {
	w         io.Writer
	remaining int64
	limited   bool
}

var errLogLimit = io.ErrShortWrite

func (l *limitedWriter) Write(p []byte) (int, error) {
	if !l.limited {
		return l.w.Write(p)
	}
	if l.remaining <= 0 {
		return 0, errLogLimit
	}
	if int64(len(p)) > l.remaining {
		n, _ := l.w.Write(p[:l.remaining])
		l.remaining = 0
		return n, errLogLimit
	}
	n, err := l.w.Write(p)
	l.remaining -= int64(n)
	return n, err
}

// streamLog copies the log at path to out. With follow it keeps reading
// until running reports false (the container ended) or ctx ends.
func streamLog(ctx context.Context, path string, o logOptions, running func() bool, out io.Writer, flush func()) error {
	sink := &limitedWriter{w: out}
	if o.limitBytes != nil {
		sink.limited, sink.remaining = true, *o.limitBytes
	}
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil // the container has not started: no output yet
	}
	if err != nil {
		return err
	}
	defer file.Close()

	reader := bufio.NewReader(file)
	var records []logRecord
	var pending string
	readAvailable := func() {
		for {
			chunk, err := reader.ReadString('\n')
			pending += chunk
			if err != nil {
				return // io.EOF: a partial line stays pending
			}
			records = append(records, parseLogRecord(strings.TrimSuffix(pending, "\n")))
			pending = ""
		}
	}
	readAvailable()
	for _, r := range selectLines(records, o) {
		if _, err := io.WriteString(sink, o.render(r)); err != nil {
			return nil
		}
	}
	flush()
	if !o.follow {
		return nil
	}
	for {
		stillRunning := running()
		records = records[:0]
		readAvailable()
		for _, r := range records {
			if !o.keep(r) {
				continue
			}
			if _, err := io.WriteString(sink, o.render(r)); err != nil {
				return nil
			}
		}
		if len(records) > 0 {
			flush()
		}
		if !stillRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
