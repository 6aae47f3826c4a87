package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Property keys of a wskprops file.
const (
	propAPIHost    = "APIHOST"
	propAuth       = "AUTH"
	propNamespace  = "NAMESPACE"
	propAPIVersion = "APIVERSION"
	propCert       = "CERT"
	propKey        = "KEY"
)

// Props is a wskprops file: KEY=value lines, '#' comments. It keeps every
// line it does not change, so a round trip preserves comments, order and keys
// that Gust does not know (APIGW_ACCESS_TOKEN, ...).
type Props struct {
	lines []propLine
}

type propLine struct {
	key   string // upper-cased key; "" for a comment, blank or malformed line
	value string
	text  string // the line as read, for lines without a key
}

// ParseProps parses a wskprops file. Like wsk, it ignores what follows a '#'
// and lines without '='; keys are case-insensitive; values are trimmed.
func ParseProps(data []byte) *Props {
	p := &Props{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		text := sc.Text()
		line := text
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		if !ok || k == "" {
			p.lines = append(p.lines, propLine{text: text})
			continue
		}
		p.lines = append(p.lines, propLine{key: k, value: strings.TrimSpace(v)})
	}
	return p
}

// Get returns the value of key and whether it is set (the last line wins).
func (p *Props) Get(key string) (string, bool) {
	key = strings.ToUpper(key)
	for i := len(p.lines) - 1; i >= 0; i-- {
		if p.lines[i].key == key {
			return p.lines[i].value, true
		}
	}
	return "", false
}

// Set sets key in place, or appends it.
func (p *Props) Set(key, value string) {
	key = strings.ToUpper(key)
	found := false
	out := p.lines[:0]
	for _, l := range p.lines {
		if l.key == key {
			if found {
				continue // drop duplicates
			}
			l.value, found = value, true
		}
		out = append(out, l)
	}
	p.lines = out
	if !found {
		p.lines = append(p.lines, propLine{key: key, value: value})
	}
}

// Unset removes key.
func (p *Props) Unset(key string) {
	key = strings.ToUpper(key)
	out := p.lines[:0]
	for _, l := range p.lines {
		if l.key != key {
			out = append(out, l)
		}
	}
	p.lines = out
}

// Bytes renders the file.
func (p *Props) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range p.lines {
		if l.key == "" {
			b.WriteString(l.text)
		} else {
			b.WriteString(l.key)
			b.WriteByte('=')
			b.WriteString(l.value)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// LoadProps reads the file at path; a missing file is an empty one.
func LoadProps(path string) (*Props, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Props{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseProps(data), nil
}

// SaveProps writes p to path atomically (a temporary file renamed over it),
// following a symbolic link and keeping an existing file's mode; a new file
// is private (0600) since it holds the auth key.
func SaveProps(path string, p *Props) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(p.Bytes())
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return nil
}
