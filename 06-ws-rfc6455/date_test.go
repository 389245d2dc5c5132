package main

import "os"

// The Date header is the one part of a response that changes from run to
// run. The servers the scripts start are this test binary running as the
// lesson, and they inherit this fixed date (the example of RFC 9110
// section 5.6.7), so that golden files can hold whole responses. The Go
// tests that start a server in-process use the real clock.
func init() { os.Setenv(dateEnv, "Sun, 06 Nov 1994 08:49:37 GMT") }
