package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Named data sets: "fashion-mnist", "fashion-mnist:test", "mnist",
// "mnist:test" (":train" is the default split). Each resolves to a
// directory holding the data set's four IDX files under their upstream
// names (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; the uncompressed
// names without .gz are accepted too). Directories are searched in order:
//
//	$RBMGPU_DATA/<name>/                   the user's own copy
//	/usr/share/datasets/<name>/            Debian (apt-get install dataset-fashion-mnist)
//	<user cache dir>/rbmgpu/<name>/        earlier downloads (os.UserCacheDir)
//
// and, when the files are in none of them, downloaded into the cache
// directory from the data set's public address (or $RBMGPU_DATA_MIRROR),
// each file checked against its pinned size and SHA-256 (see Fetch).
// The labels are attached to the returned Dataset.

// EnvDataDir names the environment variable of the user's data directory,
// searched first: $RBMGPU_DATA/<name>/<file>.
const EnvDataDir = "RBMGPU_DATA"

// EnvMirror names the environment variable that replaces the data sets'
// public addresses: files are fetched from $RBMGPU_DATA_MIRROR/<name>/<file>.
// When it is set the public addresses are never contacted.
const EnvMirror = "RBMGPU_DATA_MIRROR"

// NamedSet describes a data set that can be asked for by name.
type NamedSet struct {
	Name string   // e.g. "fashion-mnist"
	URLs []string // base URLs, tried in order; a file is URL + file name
	// Splits maps a split ("train", "test") to its images and labels.
	Splits map[string][2]RemoteFile
}

// namedSets are the data sets Load knows by name. The digests are those of
// the files as published upstream (they agree with TensorFlow Datasets'
// checksums and torchvision's pinned SHA-256s); the sizes are the byte
// counts of the same files.
var namedSets = map[string]*NamedSet{
	"fashion-mnist": {
		Name: "fashion-mnist",
		// Zalando Research's distribution point (github.com/zalandoresearch/fashion-mnist).
		URLs: []string{"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
		Splits: map[string][2]RemoteFile{
			"train": {
				{Name: "train-images-idx3-ubyte.gz", Size: 26421880, SHA256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
				{Name: "train-labels-idx1-ubyte.gz", Size: 29515, SHA256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
			},
			"test": {
				{Name: "t10k-images-idx3-ubyte.gz", Size: 4422102, SHA256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
				{Name: "t10k-labels-idx1-ubyte.gz", Size: 5148, SHA256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
			},
		},
	},
	"mnist": {
		Name: "mnist",
		// Yann LeCun's page is the original; it often refuses automated
		// downloads, so the mirror PyTorch maintains is tried next. The
		// files are byte-identical (same SHA-256).
		URLs: []string{"https://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"},
		Splits: map[string][2]RemoteFile{
			"train": {
				{Name: "train-images-idx3-ubyte.gz", Size: 9912422, SHA256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
				{Name: "train-labels-idx1-ubyte.gz", Size: 28881, SHA256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
			},
			"test": {
				{Name: "t10k-images-idx3-ubyte.gz", Size: 1648877, SHA256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
				{Name: "t10k-labels-idx1-ubyte.gz", Size: 4542, SHA256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
			},
		},
	},
}

// systemDataDirs are the system-wide data set roots (Debian's
// dataset-* packages install into /usr/share/datasets/<name>/).
var systemDataDirs = []string{"/usr/share/datasets"}

// DownloadNotify, when set, is called with one line before a named data
// set's file is downloaded (what, from where, how large, where to); the
// CLI sets it to print to stderr. Nil by default: the package prints
// nothing.
var DownloadNotify func(msg string)

// NamedSets returns the names Load accepts as named data sets.
func NamedSets() []string {
	return []string{"fashion-mnist", "mnist"}
}

// lookupNamed reports whether spec names a named data set ("name" or
// "name:split") and returns the set and split. A spec that is an existing
// file is a file, so a local file called "mnist" still loads as itself.
func lookupNamed(spec string) (*NamedSet, string, bool) {
	name, split, hasSplit := strings.Cut(spec, ":")
	ns, ok := namedSets[name]
	if !ok {
		return nil, "", false
	}
	if fi, err := os.Stat(spec); err == nil && fi.Mode().IsRegular() {
		return nil, "", false
	}
	if !hasSplit {
		split = "train"
	}
	return ns, split, true
}

// loadNamed loads split of ns with its labels, finding or fetching the
// files first. The Dataset is called spec.
func loadNamed(spec string, ns *NamedSet, split string, opts LoadOptions) (*Dataset, error) {
	if _, ok := ns.Splits[split]; !ok {
		return nil, errorf(spec, "unknown split %q: want %s (the training set) or %s:test", split, ns.Name, ns.Name)
	}
	images, labels, err := ns.Resolve(context.Background(), split)
	if err != nil {
		return nil, err
	}
	ds, err := loadFile(images, opts)
	if err != nil {
		return nil, err
	}
	lab, err := LoadLabels(labels)
	if err != nil {
		return nil, err
	}
	if len(lab) != ds.N {
		return nil, errorf(labels, "%d labels, but %s has %d images", len(lab), images, ds.N)
	}
	ds.Name = spec
	ds.Labels = lab
	return ds, nil
}

// SearchDirs returns the directories searched for ns's files, in order:
// $RBMGPU_DATA/<name>, the system directories, then the download cache.
func (ns *NamedSet) SearchDirs() []string {
	var dirs []string
	if d := os.Getenv(EnvDataDir); d != "" {
		dirs = append(dirs, filepath.Join(d, ns.Name))
	}
	for _, d := range systemDataDirs {
		dirs = append(dirs, filepath.Join(d, ns.Name))
	}
	if c, err := CacheDir(ns.Name); err == nil {
		dirs = append(dirs, c)
	}
	return dirs
}

// CacheDir returns where downloads of the named data set go:
// os.UserCacheDir()/rbmgpu/<name> ($XDG_CACHE_HOME or ~/.cache on Linux).
func CacheDir(name string) (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "rbmgpu", name), nil
}

// findFile returns the path of file f in dir under its upstream name or,
// for a .gz file, its uncompressed name; "" when neither is a regular file.
// A partial download (.part) is never returned.
func findFile(dir string, f RemoteFile) string {
	for _, n := range []string{f.Name, strings.TrimSuffix(f.Name, ".gz")} {
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return p
		}
	}
	return ""
}

// Resolve returns the paths of split's images and labels files: from the
// first search directory that holds both, else downloaded into the cache
// directory (see Fetch). The error names the data set and, when offline,
// every place that was searched.
func (ns *NamedSet) Resolve(ctx context.Context, split string) (images, labels string, err error) {
	files, ok := ns.Splits[split]
	if !ok {
		return "", "", errorf(ns.Name, "unknown split %q: want train or test", split)
	}
	dirs := ns.SearchDirs()
	for _, d := range dirs {
		im, lb := findFile(d, files[0]), findFile(d, files[1])
		if im != "" && lb != "" {
			return im, lb, nil
		}
	}
	cache, err := CacheDir(ns.Name)
	if err != nil {
		return "", "", errorf(ns.Name, "not found in %s and no cache directory to download into: %v", strings.Join(dirs, ", "), err)
	}
	urls := ns.URLs
	if m := os.Getenv(EnvMirror); m != "" {
		urls = []string{strings.TrimSuffix(m, "/") + "/" + ns.Name + "/"}
	}
	var paths [2]string
	for i, f := range files {
		if p := findFile(cache, f); p != "" {
			paths[i] = p
			continue
		}
		if DownloadNotify != nil {
			DownloadNotify(fmt.Sprintf("%s: downloading %s (%s) from %s into %s", ns.Name, f.Name, byteSize(f.Size), urls[0], cache))
		}
		p, err := Fetch(ctx, cache, urls, f)
		if err != nil {
			return "", "", errorf(ns.Name, "not found in %s; download failed: %v (offline? put the files in $%s/%s or set $%s to a mirror)",
				strings.Join(dirs, ", "), err, EnvDataDir, ns.Name, EnvMirror)
		}
		paths[i] = p
	}
	return paths[0], paths[1], nil
}

// byteSize formats n bytes for a message: "26.4 MB", "29.5 kB".
func byteSize(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
