package main

// This file refuses, at startup, a flag value that parses but cannot
// work: a timeout of 0 or less, a port past 65535. Without the check the
// server would start and fail later, on every connection, far from the
// cause. Each lesson lists its rules in main.go, once flag.Parse is done.

import (
	"flag"
	"fmt"
	"net"
	"os"
)

// A flagRule is what one flag's value must be, and whether it is.
type flagRule struct {
	name string // the flag, without its "-"
	ok   bool   // whether the value can work
	want string // what the flag accepts, for the message when it cannot
}

// checkFlags refuses the first value that breaks its rule as flag.Parse
// refuses one it cannot parse: a line naming the flag, its value and what
// it accepts, then the usage, and exit status 2.
func checkFlags(rules ...flagRule) {
	for _, r := range rules {
		if !r.ok {
			fmt.Fprintf(flag.CommandLine.Output(), "invalid value %q for flag -%s: want %s\n",
				flag.Lookup(r.name).Value.String(), r.name, r.want)
			flag.Usage()
			os.Exit(2)
		}
	}
}

// hostPort reports whether addr is host:port with a port from minPort to
// 65535 (or a service name, such as http). The host may be empty
// (":8001"); whether it exists is for the listen or the dial to say.
func hostPort(addr string, minPort int) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	p, err := net.LookupPort("tcp", port)
	return err == nil && p >= minPort
}
