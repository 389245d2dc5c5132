package wiretest

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// sendmany [-bg] [-pause d] name n 'bytes'...
//
// writes the arguments, decoded as send decodes them, n times over: many
// messages, or long ones, without writing them out in the script. An
// argument *K stands for the argument before it K times in all, so
// '\x00' 'abcd' '*1000' '\xff' is a frame of 4000 bytes of text. (A
// literal * at the start of an argument is \x2a.) With -pause, each of
// the n goes out as its own write, with the pause between them, so that
// a server reads them as they come instead of all at once. With -bg it
// writes in the background, as sendrand -bg does, so that the script can
// read the answers meanwhile; shut and close wait for it to finish.
func cmdSendmany(ts *testscript.TestScript, neg bool, args []string) {
	fs, _ := flags("sendmany")
	bg := fs.Bool("bg", false, "write in the background")
	pause := fs.Duration("pause", 0, "pause between the n writes")
	if err := fs.Parse(args); err != nil || fs.NArg() < 3 || neg {
		ts.Fatalf("usage: sendmany [-bg] [-pause d] name n 'bytes'...")
	}
	c := getConn(ts, fs.Arg(0))
	n, err := strconv.Atoi(fs.Arg(1))
	if err != nil || n < 0 {
		ts.Fatalf("sendmany: %q is not a number of times", fs.Arg(1))
	}
	unit, err := repeatArgs(fs.Args()[2:])
	ts.Check(err)
	if int64(len(unit))*int64(n) > maxRecv {
		ts.Fatalf("sendmany: %d times %d bytes is more than the limit of %d bytes", n, len(unit), maxRecv)
	}
	c.runWrite(ts, *bg, func() error {
		if *pause == 0 {
			c.c.SetWriteDeadline(time.Now().Add(time.Minute))
			_, err := c.c.Write(bytes.Repeat(unit, n))
			return err
		}
		for i := range n {
			if i > 0 {
				time.Sleep(*pause)
			}
			c.c.SetWriteDeadline(time.Now().Add(defaultTimeout))
			if _, err := c.c.Write(unit); err != nil {
				return err
			}
		}
		return nil
	})
}

// repeatArgs decodes sendmany's arguments: Go escapes, and *K for the
// argument before it K times in all.
func repeatArgs(args []string) ([]byte, error) {
	var out, last []byte
	for _, a := range args {
		if k, ok := strings.CutPrefix(a, "*"); ok {
			times, err := strconv.Atoi(k)
			if err != nil || times < 1 || last == nil || int64(len(last))*int64(times) > maxRecv {
				return nil, &repeatError{a}
			}
			out = append(out, bytes.Repeat(last, times-1)...)
			last = nil
			continue
		}
		b, err := Unescape(a)
		if err != nil {
			return nil, err
		}
		out, last = append(out, b...), b
	}
	return out, nil
}

type repeatError struct{ arg string }

func (e *repeatError) Error() string {
	return "sendmany: " + strconv.Quote(e.arg) + " must be *K, K times the argument before it (K at least 1; write a literal * as \\x2a)"
}
