// Package serverproc runs a server as a child process, as an operator
// would, and hands back the address it listens on. The process tests of
// cmd/guildhall and the benchmark (cmd/guildhall-bench) start every server
// through it: `guildhall serve`, or any program that prints
// "listening on <URL>" on its standard output.
package serverproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds on how long a child may take; a server that needs longer is broken.
const (
	startTimeout = 30 * time.Second // to print its address
	stopTimeout  = 30 * time.Second // to exit after SIGTERM (guildhall's own grace is 20 s)
)

// Process is a running server.
type Process struct {
	// URL is where it listens, such as http://127.0.0.1:40123.
	URL string

	cmd *exec.Cmd
	log *logBuffer
	// printed holds the lines written to standard output before the
	// "listening on" line (see Printed).
	printed []string
	exited  chan struct{} // closed once the process has exited and err is set
	err     error         // what cmd.Wait returned
}

// Start runs bin with args, its environment this process's plus env, and
// returns once it has printed "listening on <URL>" on its standard output.
// Its standard error is kept (see Log).
func Start(ctx context.Context, bin string, args, env []string) (*Process, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, log: &logBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan string, 1)
	// The scanner reads stdout to its end, so the child never blocks on a
	// full pipe; Wait runs only after that, as os/exec requires.
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false // printed is Start's to read once the address is sent
		for sc.Scan() {
			if announced {
				continue
			}
			p.printed = append(p.printed, sc.Text())
			if url := wordAfter(sc.Text(), "listening on "); url != "" {
				listening <- url
				announced = true
			}
		}
		io.Copy(io.Discard, stdout) // past a line too long to scan
		p.err = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case p.URL = <-listening:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", bin, p.err, p.log)
	case <-timer.C:
		p.Kill()
		return nil, fmt.Errorf("%s did not start listening within %v\n%s", bin, startTimeout, p.log)
	}
}

// Printed returns the word after marker in the first line the process
// printed with it before it said where it listens ("" if none): a server
// announces its other listeners first (`guildhall serve --pprof-addr`
// prints "profiler on <URL>").
func (p *Process) Printed(marker string) string {
	for _, line := range p.printed {
		if word := wordAfter(line, marker); word != "" {
			return word
		}
	}
	return ""
}

// wordAfter is the word that follows marker in line, "" if none does.
func wordAfter(line, marker string) string {
	if _, rest, ok := strings.Cut(line, marker); ok {
		if words := strings.Fields(rest); len(words) > 0 {
			return words[0]
		}
	}
	return ""
}

// Pid is the process id, for reading /proc.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Wait waits for the process to exit and returns how it did (nil: status 0).
func (p *Process) Wait() error {
	<-p.exited
	return p.err
}

// Stop sends SIGTERM and waits for the process to exit, killing it if it
// has not within stopTimeout; nil means it exited with status 0.
func (p *Process) Stop() error {
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.err
	case <-timer.C:
		p.Kill()
		return fmt.Errorf("no exit %v after SIGTERM", stopTimeout)
	}
}

// Kill ends the process with SIGKILL, unless it has exited, and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

// Log returns what the process has written to its standard error so far.
func (p *Process) Log() string { return p.log.String() }

// Logged returns a channel closed once the process's standard error
// contains text: a test waits on it to know that the server has reached a
// point, instead of sleeping and hoping.
func (p *Process) Logged(text string) <-chan struct{} { return p.log.watch(text) }

// logBuffer keeps a child's standard error, readable while it is being
// written, and tells watchers when a text appears in it.
type logBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	watchers []logWatcher
}

// logWatcher waits for text to appear in the log.
type logWatcher struct {
	text string
	seen chan struct{}
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(b)
	l.notify()
	return n, err
}

// watch returns a channel closed once text is in the log.
func (l *logBuffer) watch(text string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchers = append(l.watchers, logWatcher{text: text, seen: make(chan struct{})})
	seen := l.watchers[len(l.watchers)-1].seen
	l.notify()
	return seen
}

// notify closes the channels of the watchers whose text is in the log.
// The log of a test's server is small; searching all of it is simplest
// and sees a text even when it arrived split across writes.
func (l *logBuffer) notify() {
	waiting := l.watchers[:0]
	for _, w := range l.watchers {
		if bytes.Contains(l.buf.Bytes(), []byte(w.text)) {
			close(w.seen)
		} else {
			waiting = append(waiting, w)
		}
	}
	l.watchers = waiting
}

// String returns everything written so far.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
