//go:build !unix

package main

// openNoWait is nothing to add on Windows: its named pipes live under
// \\.\pipe\, never in a folder that a server could serve.
const openNoWait = 0
