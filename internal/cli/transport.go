package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// verboseTransport prints each request and response as `wsk -v` does.
// Bodies are cut at 1000 bytes unless full (--debug).
type verboseTransport struct {
	next http.RoundTripper
	w    io.Writer
	full bool
}

const verboseBodyLimit = 1000

func (t *verboseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var b bytes.Buffer
	b.WriteString("REQUEST:\n")
	fmt.Fprintf(&b, "[%s]\t%s\n", req.Method, req.URL)
	if len(req.Header) > 0 {
		b.WriteString("Req Headers\n")
		writeIndentedJSON(&b, req.Header)
	}
	if req.Body != nil && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(body)
			body.Close()
			b.WriteString("Req Body\n")
			b.WriteString(t.cut(data))
			b.WriteByte('\n')
		}
	}
	t.w.Write(b.Bytes())
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b.Reset()
	fmt.Fprintf(&b, "RESPONSE:Got response with code %d\n", resp.StatusCode)
	if len(resp.Header) > 0 {
		b.WriteString("Resp Headers\n")
		writeIndentedJSON(&b, resp.Header)
	}
	data, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr != nil {
		t.w.Write(b.Bytes())
		return nil, rerr
	}
	fmt.Fprintf(&b, "Response body size is %d bytes\n", len(data))
	if !t.full && len(data) > verboseBodyLimit {
		fmt.Fprintf(&b, "Body exceeds %d bytes and will be truncated\n", verboseBodyLimit)
	}
	fmt.Fprintf(&b, "Response body received:\n%s\n", t.cut(data))
	t.w.Write(b.Bytes())
	return resp, nil
}

func (t *verboseTransport) cut(data []byte) string {
	if !t.full && len(data) > verboseBodyLimit {
		return string(data[:verboseBodyLimit]) + "..."
	}
	return string(data)
}

func writeIndentedJSON(b *bytes.Buffer, v any) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(b, "%v\n", v)
		return
	}
	b.Write(out)
	b.WriteByte('\n')
}

// progressTransport shows the progress of large uploads on a terminal.
type progressTransport struct {
	next http.RoundTripper
	w    io.Writer
}

// progressThreshold is the smallest body worth a progress line.
const progressThreshold = 1 << 20

func (t *progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.ContentLength < progressThreshold {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	pr := &progressReader{r: req.Body, total: req.ContentLength, w: t.w, last: -1}
	r.Body = pr
	resp, err := t.next.RoundTrip(r)
	pr.finish()
	return resp, err
}

// progressReader writes "Uploading 3.1 MB / 12.0 MB (25%)" as it is read.
type progressReader struct {
	r     io.ReadCloser
	w     io.Writer
	total int64

	mu       sync.Mutex // the transport reads the body on its own goroutine
	done     int64
	last     int64 // last percentage shown
	shown    bool  // a progress line is on the terminal
	finished bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.mu.Lock()
	p.done += int64(n)
	if pct := p.done * 100 / p.total; pct != p.last && !p.finished {
		p.last = pct
		p.shown = true
		fmt.Fprintf(p.w, "\rUploading %.1f MB / %.1f MB (%d%%)", float64(p.done)/(1<<20), float64(p.total)/(1<<20), pct)
	}
	p.mu.Unlock()
	return n, err
}

func (p *progressReader) Close() error { return p.r.Close() }

// finish clears the progress line.
func (p *progressReader) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
