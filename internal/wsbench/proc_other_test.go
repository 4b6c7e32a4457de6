//go:build !linux

package wsbench

import "os/exec"

// killWithParent: the load drivers run on Linux only (requireLoadTest).
func killWithParent(*exec.Cmd) {}
