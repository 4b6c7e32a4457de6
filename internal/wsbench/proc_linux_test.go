package wsbench

import (
	"os/exec"
	"syscall"
)

// killWithParent has the kernel kill the server if the test process dies
// before stopping it (a panic, a test timeout, a kill).
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
