package runtimes

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// rawZip builds a zip with full control over each entry's header.
func rawZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zipEntry struct {
	name string
	mode os.FileMode
	data string
}

func TestUnzip(t *testing.T) {
	many := make([]zipEntry, 11)
	for i := range many {
		many[i] = zipEntry{name: "f" + string(rune('a'+i)), mode: 0o644, data: "x"}
	}
	tests := []struct {
		name    string
		zip     []zipEntry
		wantErr string // "" for success
	}{
		{"ok", []zipEntry{{"dir/", os.ModeDir | 0o755, ""}, {"dir/a.txt", 0o600, "a"}, {"run", 0o700, "#!/bin/sh"}}, ""},
		{"parent", []zipEntry{{"../x", 0o644, "x"}}, "outside the action directory"},
		{"deep parent", []zipEntry{{"a/b/../../../x", 0o644, "x"}}, "outside the action directory"},
		{"absolute", []zipEntry{{"/etc/x", 0o644, "x"}}, "outside the action directory"},
		{"parent dir", []zipEntry{{"../d/", os.ModeDir | 0o755, ""}}, "outside the action directory"},
		{"symlink", []zipEntry{{"link", os.ModeSymlink | 0o777, "/etc/passwd"}}, "not a regular file"},
		{"device", []zipEntry{{"dev", os.ModeDevice | 0o644, ""}}, "not a regular file"},
		{"duplicate", []zipEntry{{"a", 0o644, "1"}, {"a", 0o644, "2"}}, "appears twice"},
		{"too many files", many, "more than the limit of 10"},
		{"too many bytes", []zipEntry{{"big", 0o644, strings.Repeat("x", 2000)}}, "more than 1000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := unzip(rawZip(t, tt.zip...), dir, 10, 1000)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("unzip error = %v, want ErrBadArchive with %q", err, tt.wantErr)
			}
		})
	}
	// What the successful case wrote.
	dir := t.TempDir()
	if err := unzip(rawZip(t, tests[0].zip...), dir, 10, 1000); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"dir/a.txt": 0o644, "run": 0o755} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
		}
	}
}

// TestUnzipLyingSize checks that the bound holds when the headers claim a
// smaller size than the data: archive/zip or our budget must stop it.
func TestUnzipLyingSize(t *testing.T) {
	data := rawZip(t, zipEntry{"big", 0o644, strings.Repeat("x", 5000)})
	// Patch the sizes in the central directory and local header (stored
	// entry: compressed == uncompressed) to 10 bytes.
	size := []byte{0x88, 0x13, 0, 0} // 5000, little endian
	if n := bytes.Count(data, size); n < 2 {
		t.Fatalf("found the size %d times, want it in both headers", n)
	}
	patched := bytes.ReplaceAll(data, size, []byte{10, 0, 0, 0})
	dir := t.TempDir()
	err := unzip(patched, dir, 10, 1000)
	if !errors.Is(err, ErrBadArchive) {
		t.Fatalf("unzip = %v, want ErrBadArchive for an entry larger than its header says", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "big")); err == nil && fi.Size() > 1001 {
		t.Errorf("wrote %d bytes past the bound", fi.Size())
	}
}

func TestDecodeCode(t *testing.T) {
	tests := []struct {
		v       InitValue
		want    string
		wantErr bool
	}{
		{InitValue{Code: "plain"}, "plain", false},
		{InitValue{Code: "aGVsbG8=", Binary: true}, "hello", false},
		{InitValue{Code: "aGVs\nbG8=\n", Binary: true}, "hello", false},
		{InitValue{Code: "not base64!", Binary: true}, "", true},
	}
	for _, tt := range tests {
		got, err := decodeCode(&tt.v, nil)
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("decodeCode(%+v) = %q, %v", tt.v, got, err)
		}
	}
	if !isZip(rawZip(t)) || isZip([]byte("#!/bin/sh")) || isZip(nil) {
		t.Error("isZip is wrong")
	}
}

func TestParseInit(t *testing.T) {
	big := strings.Repeat("QUJD", 20<<10) // 80 KiB of base64
	tests := []string{
		`{"value":{"name":"a","main":"m","code":"` + big + `","binary":true,"env":{"code":"not this","K":"V"}}}`,
		`{"value":{"env":{"code":"not this"},"binary":true,"code":"` + big + `"}}`,
		`{"value":{"code":"` + big + `","binary":false}}`,
		`{"value":{"code":"` + big + `\n","binary":true}}`,
		`{"value":{"code":"small","binary":false}}`,
		`{"value":{"c\u006fde":"` + big + `","binary":true}}`,
		`{"other":{"code":"x"},"value":{"code":"` + big + `","binary":true,"main":"x\"y"}}`,
		` { "value" : { "code" : "` + big + `" , "binary" : true } } `,
	}
	for i, body := range tests {
		got, err := parseInit([]byte(body))
		var want InitRequest
		if werr := json.Unmarshal([]byte(body), &want); err != nil || werr != nil {
			t.Fatalf("%d: parseInit error %v, json %v", i, err, werr)
		}
		if got.raw != nil {
			got.Value.Code = string(got.raw)
		}
		if !reflect.DeepEqual(got.InitRequest, want) {
			t.Errorf("%d: parseInit = %.100v, want %.100v", i, *got, want)
		}
	}
	for i, bad := range []string{
		`{"value":{"code":"` + big + `","binary":true,}}`,
		`{"value":{"code":"` + big + `","binary":"yes"}}`,
		`{"value":{"code":"` + big + "\x01" + `","binary":false}}`,
		`{"value":{"code":"` + big,
	} {
		if _, err := parseInit([]byte(bad)); err == nil {
			t.Errorf("bad %d: parseInit accepted it", i)
		}
	}
}
