package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// A container runs as a local process in a private mount namespace whose
// root is a small tmpfs holding bind mounts of the host's top-level
// directories plus the container's volumes at their mount paths. The mover
// therefore backs up /data exactly as in a cluster (snapshot path /data) and
// restores into /data, and the host's own tree is left untouched. As root the
// harness only needs a new mount namespace; otherwise it also makes a user
// namespace mapping the harness's user to root (unprivileged user namespaces).

const sandboxExecArg = "__sandbox-exec"

// processSpec is what the harness hands the sandbox helper.
type processSpec struct {
	Argv    []string `json:"argv"`
	Env     []string `json:"env"`
	WorkDir string   `json:"workDir"`
	Mounts  []mount  `json:"mounts"`
	RootDir string   `json:"rootDir"`
}

type process struct {
	cmd      *exec.Cmd
	done     chan struct{}
	exitCode int32
	finished time.Time
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

type containerRuntime struct {
	dataDir       string
	binDir        string
	moverDir      string
	moverImage    string
	userNamespace bool

	mu        sync.Mutex
	processes map[*process]struct{}
}

// start runs spec with its output in log; exited is called once it ends.
func (rt *containerRuntime) start(spec processSpec, log *logWriter, exited func(*process)) (*process, error) {
	return rt.startWith(spec, nil, log, log, log, exited)
}

// startWith runs spec with the given stdio; once it ends (and its output was
// copied) output is closed if not nil, then exited is called.
func (rt *containerRuntime) startWith(spec processSpec, stdin io.Reader, stdout, stderr io.Writer, output io.Closer, exited func(*process)) (*process, error) {
	specFile := spec.RootDir + ".json"
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.RootDir, 0o755); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, sandboxExecArg, specFile)
	cmd.Env = spec.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if rt.userNamespace {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	} else {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	}
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	rt.mu.Lock()
	if rt.processes == nil {
		rt.processes = map[*process]struct{}{}
	}
	rt.processes[p] = struct{}{}
	rt.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.exitCode = exitCode(err)
		p.finished = time.Now()
		rt.mu.Lock()
		delete(rt.processes, p)
		rt.mu.Unlock()
		if output != nil {
			_ = output.Close()
		}
		close(p.done)
		exited(p)
	}()
	return p, nil
}

func exitCode(err error) int32 {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int32(status.Signal())
		}
		return int32(exit.ExitCode())
	}
	return 128
}

// stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (rt *containerRuntime) killAll() {
	rt.mu.Lock()
	procs := make([]*process, 0, len(rt.processes))
	for p := range rt.processes {
		procs = append(procs, p)
	}
	rt.mu.Unlock()
	for _, p := range procs {
		p.stop(2 * time.Second)
	}
}

// lookPath finds a command in the PATH of env (not of the harness).
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, kv := range env {
		if value, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(value) {
				candidate := filepath.Join(dir, name)
				if info, err := os.Stat(candidate); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
					return candidate, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH", name)
}

// withInterpreter runs a script that has lost its executable bit (files in
// the Go module cache, such as VolSync's entry.sh, are read-only and not
// executable) through the interpreter of its #! line, as exec would.
func withInterpreter(program string, argv []string) (string, []string) {
	info, err := os.Stat(program)
	if err != nil || info.Mode()&0o111 != 0 {
		return program, argv
	}
	f, err := os.Open(program)
	if err != nil {
		return program, argv
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	shebang, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return program, argv
	}
	fields := strings.Fields(shebang)
	if len(fields) == 0 {
		return program, argv
	}
	interpreter := fields[0]
	out := append([]string{interpreter}, fields[1:]...)
	out = append(out, program)
	return interpreter, append(out, argv[1:]...)
}

// sandboxExecMain runs in the container's new mount namespace: it builds the
// container's root, changes into it and execs the command. It never returns
// on success.
func sandboxExecMain(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "harness: "+format+"\n", a...)
		return 127
	}
	if len(args) != 1 {
		return fail("usage: %s SPEC.json", sandboxExecArg)
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fail("%v", err)
	}
	var spec processSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fail("%s: %v", args[0], err)
	}
	// Nothing mounted here may reach the host's mount namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fail("make mounts private: %v", err)
	}
	if err := buildRoot(spec); err != nil {
		return fail("set up container root: %v", err)
	}
	if err := syscall.Chroot(spec.RootDir); err != nil {
		return fail("chroot %s: %v", spec.RootDir, err)
	}
	workDir := spec.WorkDir
	if workDir == "" {
		workDir = "/"
	}
	if err := os.Chdir(workDir); err != nil {
		return fail("working directory %s: %v", workDir, err)
	}
	program, err := lookPath(spec.Argv[0], spec.Env)
	if err != nil {
		return fail("%v", err)
	}
	env := append(spec.Env, "PWD="+workDir)
	program, argv := withInterpreter(program, spec.Argv)
	err = syscall.Exec(program, argv, env)
	return fail("exec %s: %v", program, err)
}

// buildRoot mounts a tmpfs at spec.RootDir holding the host's top-level
// entries (bind mounts and symlinks) except where a volume is mounted.
func buildRoot(spec processSpec) error {
	root := spec.RootDir
	if err := syscall.Mount("tmpfs", root, "tmpfs", 0, "mode=755,size=1m"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", root, err)
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		return err
	}
	for _, entry := range entries {
		name := entry.Name()
		if hasMountAt(spec.Mounts, "/"+name) {
			continue
		}
		source, target := "/"+name, filepath.Join(root, name)
		info, err := os.Lstat(source)
		if err != nil {
			continue
		}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			dest, err := os.Readlink(source)
			if err != nil {
				return err
			}
			if err := os.Symlink(dest, target); err != nil {
				return err
			}
		case info.IsDir():
			if err := bindMount(source, target, true, false); err != nil {
				return err
			}
		default:
			if err := bindMount(source, target, false, false); err != nil {
				klog.V(2).Infof("skip %s: %v", source, err)
			}
		}
	}
	for _, m := range spec.Mounts {
		first := "/" + strings.Split(strings.TrimPrefix(m.Container, "/"), "/")[0]
		if _, err := os.Lstat(first); err == nil && !hasMountAt(spec.Mounts, first) {
			// Its mount point would have to be made inside a host directory.
			return fmt.Errorf("mount path %s lies inside the host's %s; the harness supports mount paths that are top-level or inside another volume", m.Container, first)
		}
		info, err := os.Stat(m.Host)
		if err != nil {
			return fmt.Errorf("volume for %s: %w", m.Container, err)
		}
		if err := bindMount(m.Host, filepath.Join(root, m.Container), info.IsDir(), m.ReadOnly); err != nil {
			return err
		}
	}
	return nil
}

func bindMount(source, target string, dir, readOnly bool) error {
	if dir {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_ = f.Close()
	}
	if err := syscall.Mount(source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", source, target, err)
	}
	if readOnly {
		if err := syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", target, err)
		}
	}
	return nil
}
