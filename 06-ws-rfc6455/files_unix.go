//go:build unix

package main

import "syscall"

// openNoWait makes opening a named pipe (FIFO) return at once, where it
// would wait for a writer (POSIX open(2): O_NONBLOCK). Opening a regular
// file or a folder is the same with it or without it. O_NOCTTY keeps a
// terminal device in the folder from becoming the server's terminal.
const openNoWait = syscall.O_NONBLOCK | syscall.O_NOCTTY
