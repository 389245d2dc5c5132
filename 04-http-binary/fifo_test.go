//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sockets/internal/wiretest"
)

// TestFIFORace swaps a regular file and a named pipe (FIFO) under one
// name, by atomic renames, as fast as it can, while ten clients GET that
// name a hundred times each. Whatever the name is at the moment of the
// open, every request must be answered (200 for the file, 404 for the
// pipe) within answerBound, and SIGTERM must still stop the server
// within its grace. A server that looks at the name before opening it
// loses the race now and then: the name is a file when it looks, a pipe
// when it opens, and open(2) waits for a writer that never comes.
func TestFIFORace(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: a thousand requests against a renaming loop")
	}
	const (
		clients     = 10
		requests    = 100
		answerBound = 5 * time.Second
		stopBound   = shutdownGrace + 3*time.Second
	)
	dir := t.TempDir()
	work := t.TempDir() // the swapper's own names, outside the site
	target := filepath.Join(dir, "race.txt")
	if err := os.WriteFile(target, []byte("a regular file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "file"), []byte("a regular file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(work, "fifo"), 0o644); err != nil {
		t.Skipf("skipping: cannot make a named pipe here: %v", err)
	}

	cmd, addr := startLesson(t, "-root", dir)

	// The swapper: a hard link of the file or of the pipe, renamed over
	// race.txt; each rename replaces the name in one step.
	stop := make(chan struct{})
	var swaps atomic.Int64
	var swapping sync.WaitGroup
	swapping.Go(func() {
		tmp := filepath.Join(dir, ".swap")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			src := filepath.Join(work, []string{"file", "fifo"}[i%2])
			if err := os.Link(src, tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, target); err != nil {
				t.Error(err)
				return
			}
			swaps.Add(1)
		}
	})

	var answered, files, pipes, hung atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range requests {
				status, err := get(addr, "/race.txt", answerBound)
				switch {
				case err != nil:
					hung.Add(1)
					t.Logf("GET /race.txt: no answer: %v", err)
					return // this client's requests stop here
				case status == "200":
					files.Add(1)
				case status == "404":
					pipes.Add(1)
				default:
					t.Errorf("GET /race.txt: status %s", status)
				}
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	swapping.Wait()
	t.Logf("%d swaps; %d requests answered (%d with the file, %d refused as not regular), %d hung",
		swaps.Load(), answered.Load(), files.Load(), pipes.Load(), hung.Load())
	if hung.Load() > 0 {
		t.Errorf("%d requests got no answer within %v", hung.Load(), answerBound)
	}

	// Ctrl-C's twin, SIGTERM: the server must exit within its grace.
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server exited with %v after SIGTERM", err)
		}
		t.Logf("the server exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(stopBound):
		t.Errorf("the server was still running %v after SIGTERM (its grace is %v)", stopBound, shutdownGrace)
		cmd.Process.Kill()
		<-exited
	}
}

// startLesson runs the lesson (this test binary, as TestMain set it up)
// as a process of its own on a free port, and returns it and its address.
func startLesson(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	lesson := wiretest.LessonName()
	path, err := exec.LookPath(lesson)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), lesson+": listening on "); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("the lesson did not log its address")
	}
	go io.Copy(io.Discard, stderr)
	return cmd, addr
}

// get sends one GET on a connection of its own and returns the status
// code of the answer, which must begin within bound.
func get(addr, path string, bound time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, bound)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(bound))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	_, rest, _ := strings.Cut(line, " ")
	status, _, _ := strings.Cut(rest, " ")
	return status, nil
}
