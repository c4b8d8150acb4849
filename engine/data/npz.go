package data

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// NPZ is NumPy's archive of arrays (np.savez, np.savez_compressed): a zip
// file whose members "<key>.npy" are NPY files, stored or deflated. It is
// how scikit-learn BernoulliRBM weights are exported (components_,
// intercept_hidden_, intercept_visible_).

// ReadNPZ reads every array of the .npz file at path, keyed by member name
// without ".npy". Members not ending in ".npy" are ignored.
func ReadNPZ(path string) (map[string]Array, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadNPZFrom(f, size, path)
}

// ReadNPZFrom is ReadNPZ on an archive of size bytes read through ra; name is
// used in error messages.
func ReadNPZFrom(ra io.ReaderAt, size int64, name string) (map[string]Array, error) {
	out := map[string]Array{}
	err := walkNPZ(ra, size, name, func(string) bool { return true }, func(key string, a Array) bool {
		out[key] = a
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NPZKeys lists the array names in the .npz file at path, in archive order.
func NPZKeys(path string) ([]string, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := openZip(f, size, path)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, zf := range zr.File {
		if k, ok := npzKey(zf.Name); ok {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// ReadNPZArray reads one array of the .npz file at path: the one named key,
// or the first in archive order when key is "". It returns the key read.
// Only that member is decompressed.
func ReadNPZArray(path, key string) (Array, string, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Array{}, "", err
	}
	defer f.Close()
	var (
		got   Array
		found string
		any   bool
	)
	err = walkNPZ(f, size, path, func(k string) bool { return key == "" || k == key }, func(k string, a Array) bool {
		got, found, any = a, k, true
		return false
	})
	if err != nil {
		return Array{}, "", err
	}
	if !any {
		if key == "" {
			return Array{}, "", errorf(path, "no arrays (no .npy members) in the archive")
		}
		keys, _ := NPZKeys(path)
		return Array{}, "", errorf(path, "no array named %q, have %v", key, keys)
	}
	return got, found, nil
}

func npzKey(member string) (string, bool) {
	if !strings.HasSuffix(member, ".npy") {
		return "", false
	}
	return strings.TrimSuffix(member, ".npy"), true
}

func openZip(ra io.ReaderAt, size int64, name string) (*zip.Reader, error) {
	zr, err := zip.NewReader(ra, size)
	if errors.Is(err, zip.ErrInsecurePath) {
		err = nil // nothing is extracted to disk, so odd member names are harmless
	}
	if err != nil {
		return nil, errorf(name, "not a valid NPZ (zip) archive: %v", err)
	}
	return zr, nil
}

// walkNPZ decodes the members whose key passes want, in archive order, and
// hands each to use until use returns false. Every member is bounded by its
// declared and its compressed size, and all members together by the maximum
// deflate expansion of the whole archive, so overlapping members cannot
// multiply memory use.
func walkNPZ(ra io.ReaderAt, size int64, name string, want func(string) bool, use func(string, Array) bool) error {
	zr, err := openZip(ra, size, name)
	if err != nil {
		return err
	}
	budget := compressedBound(size).n
	seen := map[string]bool{}
	for _, zf := range zr.File {
		key, ok := npzKey(zf.Name)
		if !ok || !want(key) {
			continue
		}
		member := name + ": " + printableName(zf.Name)
		if seen[key] {
			return errorf(member, "duplicate member in the archive")
		}
		seen[key] = true
		b := bound{n: int64(min(zf.UncompressedSize64, uint64(1)<<62))}
		if zf.Method == zip.Store {
			b.n = min(b.n, int64(min(zf.CompressedSize64, uint64(size))))
		} else {
			b.n = min(b.n, compressedBound(int64(min(zf.CompressedSize64, uint64(size)))).n)
		}
		if budget >= 0 {
			b.n = min(b.n, budget)
		}
		rc, err := zf.Open()
		if err != nil {
			return errorf(member, "cannot open member: %v", err)
		}
		a, err := readNPY(rc, member, b, false)
		rc.Close()
		if err != nil {
			return err
		}
		if budget >= 0 {
			budget -= b.n // ≥ the bytes actually read: the member could not deliver more
		}
		if !use(key, a) {
			return nil
		}
	}
	return nil
}

// openFile opens path for reading and returns its size; directories and
// empty files are errors.
func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, wrapErr(path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, wrapErr(path, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, errorf(path, "is a directory, want a data file")
	}
	if fi.Size() == 0 && fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, errorf(path, "empty file")
	}
	return f, fi.Size(), nil
}

// printableName returns a member name as it may appear in a one-line error:
// as is when it is printable, else Go-quoted (a crafted archive can name a
// member "a\nb.npy").
func printableName(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
