package runtimes

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Bounds on what an action archive may unpack to.
const (
	maxArchiveBytes = 256 << 20 // total uncompressed bytes
	maxArchiveFiles = 10_000    // entries, directories included
)

// decodeCode returns the action's code as bytes: base64-decoded when binary.
// raw, when not nil, is the base64 text in place of v.Code.
func decodeCode(v *InitValue, raw []byte) ([]byte, error) {
	if !v.Binary {
		return []byte(v.Code), nil
	}
	if raw == nil {
		raw = []byte(v.Code)
	}
	// Tolerate line-wrapped base64 (openssl, older CLIs).
	if bytes.ContainsAny(raw, "\r\n") {
		raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r"), nil), []byte("\n"), nil)
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(b, raw)
	if err != nil {
		return nil, fmt.Errorf("the action's binary code is not valid base64: %v", err)
	}
	return b[:n], nil
}

// isZip reports whether b starts like a zip archive (a local file header, or
// the end record of an empty archive).
func isZip(b []byte) bool {
	return len(b) >= 4 && b[0] == 'P' && b[1] == 'K' &&
		((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))
}

// unzip extracts the zip archive data into dir, which must exist. It refuses
// entries that would land outside dir (absolute names, ".." components),
// symbolic links and other non-regular files, duplicate names, more than
// maxFiles entries and more than maxBytes of uncompressed data; the sizes in
// the archive's headers are not trusted. Executable bits are kept, other
// permissions normalized (0644, 0755).
func unzip(data []byte, dir string, maxFiles int, maxBytes int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadArchive, err)
	}
	if len(zr.File) > maxFiles {
		return fmt.Errorf("%w: %d entries, more than the limit of %d", ErrBadArchive, len(zr.File), maxFiles)
	}
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared > uint64(maxBytes) {
			return fmt.Errorf("%w: more than %d bytes uncompressed", ErrBadArchive, maxBytes)
		}
	}
	budget := maxBytes
	for _, f := range zr.File {
		name := f.Name
		mode := f.Mode()
		isDir := strings.HasSuffix(name, "/") || mode.IsDir()
		clean := strings.TrimSuffix(name, "/")
		if !filepath.IsLocal(clean) || strings.IndexByte(clean, 0) >= 0 {
			return fmt.Errorf("%w: entry %q is outside the action directory", ErrBadArchive, name)
		}
		dst := filepath.Join(dir, clean)
		if isDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("%w: %v", ErrBadArchive, err)
			}
			continue
		}
		if !mode.IsRegular() {
			return fmt.Errorf("%w: entry %q is not a regular file (%v)", ErrBadArchive, name, mode.Type())
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		n, err := extractFile(f, dst, budget, maxBytes)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

// extractFile writes one entry to dst and returns its size; it fails when
// the entry holds more than budget bytes (what is left of limit).
func extractFile(f *zip.File, dst string, budget, limit int64) (int64, error) {
	perm := os.FileMode(0o644)
	if f.Mode().Perm()&0o111 != 0 {
		perm = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%w: entry %q: %v", ErrBadArchive, f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if os.IsExist(err) {
			return 0, fmt.Errorf("%w: entry %q appears twice", ErrBadArchive, f.Name)
		}
		return 0, fmt.Errorf("%w: %v", ErrBadArchive, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%w: entry %q: %v", ErrBadArchive, f.Name, err)
	}
	if n > budget {
		return n, fmt.Errorf("%w: more than %d bytes uncompressed", ErrBadArchive, limit)
	}
	return n, nil
}
