package main

// This file is what lesson 04 adds to lesson 03: finding the file a
// request path names without ever leaving the site, saying what type of
// bytes it holds, and streaming them to the client.

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// site is the site the program serves unless -root names a folder. Its
// files live in the binary, so `go run` needs nothing beside it.
//
//go:embed site
var site embed.FS

// openSite returns the files to serve: the folder dir, or the built-in
// site when dir is "".
func openSite(dir string) (fs.FS, error) {
	if dir == "" {
		log.Printf("serving the site built into the program")
		return fs.Sub(site, "site")
	}
	// An os.Root opens names inside dir and nowhere else: it refuses
	// "..", absolute names and symbolic links that lead out of dir, at
	// every step of the path, as the kernel walks it.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	log.Printf("serving the folder %s", dir)
	return folder{root}, nil
}

// folder is a folder on disk as an fs.FS whose Open never waits.
type folder struct{ root *os.Root }

// Open opens a name in the folder for reading, with openNoWait
// (O_NONBLOCK on Unix): opening a named pipe (FIFO) otherwise waits, in
// the kernel and with no deadline, until something opens it to write.
// Whatever the name turned out to be, it is open now, and serveFile
// checks that very file.
func (d folder) Open(name string) (fs.File, error) {
	// The names of an fs.FS, as os.Root's own FS checks them.
	if !fs.ValidPath(name) || strings.ContainsRune(name, '\\') {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|openNoWait, 0)
	if err != nil {
		return nil, err // not f: a nil *os.File is not a nil fs.File
	}
	return f, nil
}

// serveFile answers GET and HEAD for a file of the site. The response
// holds the open file; the caller closes it.
func serveFile(files fs.FS, rq *request) response {
	if rq.method != "GET" && rq.method != "HEAD" {
		return notAllowed("GET, HEAD")
	}
	name, herr := fileName(rq.path)
	if herr != nil {
		return errorResponse(herr)
	}
	// Open, then look at what was opened: a look at the name first
	// would say nothing of what the name is a moment later, when it is
	// opened. The open does not wait, even for a named pipe (see folder).
	f, err := files.Open(name)
	if err != nil {
		return notFound(rq.path, err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return notFound(rq.path, err)
	case fi.IsDir():
		// "/dir" is a folder: send the client to "/dir/", so that the
		// relative links in dir/index.html resolve inside dir.
		f.Close()
		return response{status: 301, contentType: textPlain, location: rq.path + "/",
			body: []byte("301 Moved Permanently: a folder's address ends in /: " + rq.path + "/\n")}
	case !fi.Mode().IsRegular():
		// A named pipe, a socket, a device: not a file to send.
		f.Close()
		return notFound(rq.path, errNotRegular)
	}
	ctype, err := contentType(name, f)
	if err != nil {
		f.Close()
		return notFound(rq.path, err)
	}
	mod := fi.ModTime()
	if now := time.Now(); mod.After(now) {
		mod = now // RFC 9110 section 8.8.2.1: never later than the Date
	}
	return response{status: 200, contentType: ctype, file: f, size: fi.Size(), modTime: mod}
}

// errNotRegular refuses a name that is neither a file nor a folder.
var errNotRegular = errors.New("not a regular file")

// fileName turns a request path into the name of a file in the site, or
// refuses it. "/" and every path ending in "/" name the folder's
// index.html.
func fileName(urlPath string) (string, *httpError) {
	p, herr := percentDecode(urlPath)
	if herr != nil {
		return "", herr
	}
	shown := quote(urlPath)
	if p != urlPath {
		shown += " (decoded " + quote(p) + ")"
	}
	if hasCTL(p) {
		return "", badRequest("path %s holds a control character", shown)
	}
	if strings.ContainsRune(p, '\\') {
		return "", badRequest("path %s holds a backslash, which separates names on Windows", shown)
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return "", badRequest("path %s climbs out of the site with \"..\"", shown)
		}
	}
	// fs.ValidPath also refuses "." and empty segments: "/a//b" and
	// "/./a" are not names of this site, and neither is "//etc/passwd".
	// It takes "." alone for the site's folder, but "/." is refused like
	// "/./a": as a folder it would be redirected to "/./", refused here.
	if !fs.ValidPath(name) || name == "." {
		return "", badRequest("path %s is not a plain path in the site (an empty or \".\" segment)", shown)
	}
	return name, nil
}

// percentDecode decodes the %XX escapes of a path (RFC 3986 section
// 2.1): "/caf%C3%A9.txt" names "café.txt". It refuses a malformed escape,
// and an encoded "/": no file name holds a slash, and a server that
// decoded "..%2F" into a separator after checking for "../" would let it
// through.
func percentDecode(s string) (string, *httpError) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+3 > len(s) {
			return "", badRequest("path %s ends in an incomplete %%-escape", quote(s))
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", badRequest("%s in path %s is not %% and two hex digits", quote(s[i:i+3]), quote(s))
		}
		if c == '/' {
			return "", badRequest("path %s encodes a slash as %s", quote(s), s[i:i+3])
		}
		b = append(b, byte(c))
		i += 2
	}
	return string(b), nil
}

// errorResponse is the plain-text answer to a refused request.
func errorResponse(e *httpError) response {
	return response{status: e.status, contentType: textPlain,
		body: fmt.Appendf(nil, "%d %s: %s\n", e.status, statusText(e.status), e.reason)}
}

// notFound answers a path with no file the server can serve. It says why
// when the reason is not simply "no such file": os.Root's "path escapes
// from parent" is a symbolic link that leads out of the site.
func notFound(urlPath string, err error) response {
	reason := "no file " + quote(urlPath) + " in this site"
	switch {
	case errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(urlPath, "/"):
		reason = "no index.html in " + quote(urlPath) + " (this server does not list folders)"
	case !errors.Is(err, fs.ErrNotExist):
		reason = fmt.Sprintf("cannot serve %s: %v", quote(urlPath), err)
	}
	return errorResponse(&httpError{404, reason})
}

// contentTypes maps a name's extension to the media type of its bytes.
// The table is the program's own rather than the system's
// (mime.TypeByExtension also reads /etc/mime.types), so a file gets the
// same type on every machine. Text types name their charset: without it
// a browser guesses, and a guess of Windows-1252 shows "café" as "cafÃ©".
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".txt":  textPlain,
	".json": "application/json",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
	".ico":  "image/vnd.microsoft.icon",
	".pdf":  "application/pdf",
	".mp4":  "video/mp4",
	".webm": "video/webm",
	".wasm": "application/wasm",
	".bin":  octetStream,
}

// sniffLen is how many bytes sniff looks at: the WHATWG MIME Sniffing
// standard reads 512 bytes, enough for every signature it knows.
const sniffLen = 512

// contentType returns the type of a file's bytes: by its extension, or,
// for a name with no extension the table knows, by sniffing its first
// bytes. Sniffing reads from f, then seeks back to the start.
func contentType(name string, f fs.File) (string, error) {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t, nil
	}
	seeker, ok := f.(io.Seeker)
	if !ok {
		return octetStream, nil
	}
	buf := make([]byte, sniffLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	if _, err := seeker.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return sniff(buf[:n]), nil
}

// signatures are the first bytes of some binary formats. PNG's is a
// lesson of its own: \x89 is caught by a channel that strips the eighth
// bit, \r\n by one that turns line ends into \n, \x1a by DOS's "type"
// command, which stops there; a PNG mangled as text fails at once.
var signatures = []struct{ magic, ctype string }{
	{"\x89PNG\r\n\x1a\n", "image/png"},
	{"\xff\xd8\xff", "image/jpeg"},
	{"GIF87a", "image/gif"},
	{"GIF89a", "image/gif"},
	{"%PDF-", "application/pdf"},
	{"\x00asm", "application/wasm"},
}

// sniff guesses the type of a body from its first bytes: a known
// signature; else UTF-8 text without control bytes other than white
// space is text/plain; else the honest "bytes of unknown type". It never
// guesses HTML: a browser would run the scripts of an uploaded file that
// merely looks like a page.
func sniff(p []byte) string {
	for _, s := range signatures {
		if strings.HasPrefix(string(p), s.magic) {
			return s.ctype
		}
	}
	// The cut at sniffLen may split a character; ignore a partial one.
	for i := len(p) - 1; i >= 0 && i >= len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				p = p[:i]
			}
			break
		}
	}
	if !utf8.Valid(p) {
		return octetStream
	}
	for _, c := range p {
		if c < ' ' && !strings.ContainsRune("\t\n\f\r", rune(c)) || c == 0x7f {
			return octetStream
		}
	}
	return textPlain
}

// writeChunk is how much of a file must leave within one writeTimeout:
// a client that takes in less than 256 KiB in 10 seconds (25 KiB/s) is
// taken for gone. Each chunk gets a fresh deadline, so a large file on a
// slow but steady link is never cut off. (A deadline cannot simply be
// renewed when it expires: io.Copy may have read bytes from the file
// that it could not write, and they would be lost from the body.)
const writeChunk = 256 << 10

// errShortFile says a file ended before the Content-Length already sent.
// Only closing the connection can tell the client its body is incomplete.
var errShortFile = errors.New("the file is shorter than the Content-Length sent")

// sendFile streams size bytes of f to the client, after the head that is
// already in the write buffer.
//
// A small file joins the head in the buffer, and one write sends both. A
// larger one goes to the connection itself after the head: io.Copy sees
// that the destination is a *net.TCPConn and the source an *os.File
// (inside one io.LimitedReader: it looks through one, not two) and asks
// the kernel to send the file with sendfile(2), from the page cache to
// the socket, without a copy in this program's memory. An embedded file
// is not an *os.File; io.Copy falls back to a 32 KiB buffer. Either way,
// memory stays flat however large the file. The limit sends exactly size
// bytes even if the file grows meanwhile.
func (cn *conn) sendFile(f io.Reader, size int64) error {
	if size <= int64(cn.bw.Available()) {
		n, err := io.Copy(cn.bw, io.LimitReader(f, size))
		if err == nil && n < size {
			err = errShortFile
		}
		return err
	}
	if err := cn.bw.Flush(); err != nil {
		return err
	}
	for left := size; left > 0; {
		chunk := &io.LimitedReader{R: f, N: min(left, writeChunk)}
		cn.c.SetWriteDeadline(time.Now().Add(cn.s.writeTimeout))
		n, err := io.Copy(cn.w, chunk)
		left -= n
		switch {
		case err != nil:
			return err
		case chunk.N > 0:
			return errShortFile
		}
	}
	return nil
}
