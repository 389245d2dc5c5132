//go:build !unix

package wiretest

import "os/exec"

func inGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) { cmd.Process.Kill() }
