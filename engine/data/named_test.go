package data

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSet is a tiny stand-in for a named data set: 6 images of 2×3 pixels
// (train) and 2 (test), with labels, as gzipped IDX files.
type fakeSet struct {
	set   *NamedSet
	files map[string][]byte // upstream name → bytes
}

func newFakeSet(t *testing.T, name string) *fakeSet {
	t.Helper()
	fs := &fakeSet{set: &NamedSet{Name: name, Splits: map[string][2]RemoteFile{}}, files: map[string][]byte{}}
	for _, sp := range []struct {
		split, prefix string
		n             int
	}{{"train", "train", 6}, {"test", "t10k", 2}} {
		px := make([]byte, sp.n*6)
		for i := range px {
			px[i] = byte(i * 7)
		}
		lab := make([]byte, sp.n)
		for i := range lab {
			lab[i] = byte(i % 10)
		}
		var pair [2]RemoteFile
		for j, c := range []struct {
			name string
			b    []byte
		}{
			{sp.prefix + "-images-idx3-ubyte.gz", gz(t, idxFile(0x08, []int{sp.n, 2, 3}, px))},
			{sp.prefix + "-labels-idx1-ubyte.gz", gz(t, idxFile(0x08, []int{sp.n}, lab))},
		} {
			sum := sha256.Sum256(c.b)
			pair[j] = RemoteFile{Name: c.name, Size: int64(len(c.b)), SHA256: hex.EncodeToString(sum[:])}
			fs.files[c.name] = c.b
		}
		fs.set.Splits[sp.split] = pair
	}
	return fs
}

// install puts the fake set in place of the named set it is called after,
// with no system directories, an empty $RBMGPU_DATA and a fresh cache
// directory; everything is restored when the test ends. It returns the
// cache directory of the set.
func (fs *fakeSet) install(t *testing.T) string {
	t.Helper()
	old, oldSys := namedSets[fs.set.Name], systemDataDirs
	namedSets[fs.set.Name], systemDataDirs = fs.set, nil
	t.Cleanup(func() { namedSets[fs.set.Name], systemDataDirs = old, oldSys })
	t.Setenv(EnvDataDir, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv(EnvMirror, offlineURL(t)) // never the real network
	c, err := CacheDir(fs.set.Name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeTo writes the set's files into dir.
func (fs *fakeSet) writeTo(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range fs.files {
		writeFile(t, dir, n, b)
	}
}

// mirror serves the set at <url>/<name>/<file> and points $RBMGPU_DATA_MIRROR at it.
func (fs *fakeSet) mirror(t *testing.T) *fileServer {
	srv := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		b, ok := fs.files[strings.TrimPrefix(r.URL.Path, "/"+fs.set.Name+"/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, r, b)
	})
	t.Setenv(EnvMirror, srv.URL)
	return srv
}

func checkFake(t *testing.T, ds *Dataset, spec string, n int) {
	t.Helper()
	if ds.Name != spec || ds.N != n || ds.D != 6 || !equalInts(ds.Shape, []int{2, 3}) || len(ds.Labels) != n {
		t.Fatalf("%s: got %v (labels %v)", spec, ds, ds.Labels)
	}
	for i, l := range ds.Labels {
		if l != i%10 {
			t.Fatalf("%s: label %d = %d, want %d", spec, i, l, i%10)
		}
	}
}

// Not found locally: both splits download from the mirror into the cache,
// are verified, and load with their labels; later loads use the cache.
func TestNamedDownloadsIntoCache(t *testing.T) {
	fs := newFakeSet(t, "fashion-mnist")
	cache := fs.install(t)
	srv := fs.mirror(t)
	ds, err := Load("fashion-mnist", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, ds, "fashion-mnist", 6)
	ds, err = Load("fashion-mnist:test", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, ds, "fashion-mnist:test", 2)
	for n := range fs.files {
		if _, err := os.Stat(filepath.Join(cache, n)); err != nil {
			t.Error(err)
		}
	}
	checkNoPart(t, cache)
	for _, spec := range []string{"fashion-mnist", "fashion-mnist:train", "fashion-mnist:test"} {
		if _, err := Load(spec, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := srv.requests(); n != 4 {
		t.Errorf("%d requests, want 4 (each file once)", n)
	}
}

// $RBMGPU_DATA comes first, then the system directories, then the cache;
// uncompressed files under the upstream names without .gz count too.
func TestNamedSearchOrder(t *testing.T) {
	fs := newFakeSet(t, "mnist")
	cache := fs.install(t)
	user, sys := t.TempDir(), t.TempDir()
	systemDataDirs = []string{sys}
	t.Setenv(EnvDataDir, user)

	fs.writeTo(t, cache)
	ds, err := Load("mnist:test", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, ds, "mnist:test", 2)

	// The system directory wins over the cache: give it the 6 training
	// images under the test names.
	sysDir := filepath.Join(sys, "mnist")
	os.MkdirAll(sysDir, 0o755)
	for _, kind := range []string{"-images-idx3-ubyte.gz", "-labels-idx1-ubyte.gz"} {
		writeFile(t, sysDir, "t10k"+kind, fs.files["train"+kind])
	}
	if ds, err = Load("mnist:test", LoadOptions{}); err != nil || ds.N != 6 {
		t.Fatalf("system dir not preferred over the cache: %v, %v", ds, err)
	}

	// $RBMGPU_DATA wins over both; raw (uncompressed) IDX is accepted.
	own := filepath.Join(user, "mnist")
	os.MkdirAll(own, 0o755)
	writeFile(t, own, "t10k-images-idx3-ubyte", idxFile(0x08, []int{1, 2, 3}, make([]byte, 6)))
	writeFile(t, own, "t10k-labels-idx1-ubyte", idxFile(0x08, []int{1}, []byte{0}))
	if ds, err = Load("mnist:test", LoadOptions{}); err != nil || ds.N != 1 {
		t.Fatalf("$RBMGPU_DATA not preferred: %v, %v", ds, err)
	}
	// A directory with only one of the two files does not count.
	os.Remove(filepath.Join(own, "t10k-labels-idx1-ubyte"))
	if ds, err = Load("mnist:test", LoadOptions{}); err != nil || ds.N != 6 {
		t.Fatalf("half a directory was used: %v, %v", ds, err)
	}
}

// A .part file in the cache is never data: the download resumes from it.
func TestNamedPartIsNotData(t *testing.T) {
	fs := newFakeSet(t, "fashion-mnist")
	cache := fs.install(t)
	fs.writeTo(t, cache)
	img := fs.set.Splits["train"][0].Name
	b := fs.files[img]
	os.Remove(filepath.Join(cache, img))
	writeFile(t, cache, img+".part", b[:len(b)/2])
	srv := fs.mirror(t)
	ds, err := Load("fashion-mnist", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkFake(t, ds, "fashion-mnist", 6)
	if n, ranges := srv.requests(); n != 1 || !strings.HasPrefix(ranges[0], "bytes=") {
		t.Errorf("requests %d %q, want one Range request", n, ranges)
	}
	checkNoPart(t, cache)
}

// Offline with nothing local: one line naming the set, every directory
// searched and the URL that failed. A corrupt mirror leaves no data.
func TestNamedOfflineAndCorrupt(t *testing.T) {
	fs := newFakeSet(t, "fashion-mnist")
	cache := fs.install(t)
	user := t.TempDir()
	t.Setenv(EnvDataDir, user)
	_, err := Load("fashion-mnist", LoadOptions{})
	wantErr(t, err, "fashion-mnist: not found in "+filepath.Join(user, "fashion-mnist"), cache, "download failed", "train-images-idx3-ubyte.gz", "connection refused", "offline?")
	t.Log(err)

	for n, b := range fs.files {
		bad := append([]byte(nil), b...)
		bad[len(bad)/2] ^= 1
		fs.files[n] = bad
	}
	fs.mirror(t)
	_, err = Load("fashion-mnist:test", LoadOptions{})
	wantErr(t, err, "SHA-256", "discarded")
	if m, _ := filepath.Glob(filepath.Join(cache, "*")); len(m) != 0 {
		t.Errorf("a failed download left %v", m)
	}
}

func TestNamedSpecs(t *testing.T) {
	fs := newFakeSet(t, "mnist")
	fs.install(t)
	_, err := Load("mnist:valid", LoadOptions{})
	wantErr(t, err, "mnist:valid", `unknown split "valid"`, "mnist:test")
	// A file that happens to be called like a named set is that file.
	dir := t.TempDir()
	t.Chdir(dir)
	writeFile(t, dir, "mnist", idxFile(0x08, []int{2, 2}, []byte{1, 0, 0, 1}))
	ds, err := Load("mnist", LoadOptions{})
	if err != nil || ds.N != 2 || ds.Labels != nil {
		t.Fatalf("local file mnist: %v, %v", ds, err)
	}
	if got := NamedSets(); len(got) != 2 {
		t.Errorf("NamedSets() = %v", got)
	}
	for _, name := range NamedSets() {
		ns := namedSets[name]
		if ns == nil || ns.Name != name || len(ns.Splits) != 2 {
			t.Errorf("named set %q is not registered", name)
		}
	}
}

// The real pins: well-formed, and consistent between the two sets.
func TestNamedPins(t *testing.T) {
	for _, name := range []string{"fashion-mnist", "mnist"} {
		ns := namedSets[name]
		if len(ns.URLs) == 0 {
			t.Errorf("%s: no URL", name)
		}
		for _, u := range ns.URLs {
			if !strings.HasSuffix(u, "/") {
				t.Errorf("%s: base URL %q must end in /", name, u)
			}
		}
		for split, pair := range ns.Splits {
			for _, f := range pair {
				if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 || f.SHA256 != strings.ToLower(f.SHA256) {
					t.Errorf("%s:%s %s: bad SHA-256 %q", name, split, f.Name, f.SHA256)
				}
				if f.Size < 4000 {
					t.Errorf("%s:%s %s: size %d", name, split, f.Name, f.Size)
				}
			}
		}
	}
}

// Debian's dataset-fashion-mnist is found by name, with its labels, and
// nothing is downloaded (the mirror points at a closed port).
func TestNamedDebianFashionMNIST(t *testing.T) {
	dir := filepath.Join(systemDataDirs[0], "fashion-mnist")
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("dataset-fashion-mnist not installed (%v)", err)
	}
	t.Setenv(EnvDataDir, "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv(EnvMirror, offlineURL(t))
	ds, err := Load("fashion-mnist:test", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 10000 || ds.D != 784 || len(ds.Labels) != 10000 || ds.Name != "fashion-mnist:test" {
		t.Fatalf("got %v", ds)
	}
	byPath, err := Load(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if byPath.Fingerprint() != ds.Fingerprint() {
		t.Error("the named set and its file have different fingerprints")
	}
	// MNIST is not packaged: with the network cut off, a one-line error.
	_, err = Load("mnist:test", LoadOptions{})
	wantErr(t, err, "mnist: not found in", "download failed")
}
