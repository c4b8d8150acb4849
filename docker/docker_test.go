// Package docker_test checks the Dockerfiles without a Docker engine: it
// parses them and checks that every stage builds from a pinned image, that
// what they copy exists in the repository, that the build command is the
// documented one, and that the final image runs rbmgpu as a non-root user.
// hadolint runs too when it is installed.
package docker_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository root, the build context of both images.
const root = ".."

// instr is one Dockerfile instruction with its continuation lines joined.
type instr struct {
	line int    // 1-based line of the instruction
	cmd  string // upper-case keyword: FROM, RUN, COPY, ...
	args string
}

// parse splits a Dockerfile into instructions: comments and blank lines
// dropped, lines ending in a backslash joined with the next.
func parse(t *testing.T, path string) []instr {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []instr
		cur  strings.Builder
		from int
	)
	for i, l := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(l)
		if cur.Len() == 0 && (trim == "" || strings.HasPrefix(trim, "#")) {
			continue
		}
		if cur.Len() == 0 {
			from = i + 1
		} else if strings.HasPrefix(trim, "#") {
			continue // a comment inside a continued instruction
		}
		if s, ok := strings.CutSuffix(trim, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trim)
		kw, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instr{from, strings.ToUpper(kw), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() != 0 {
		t.Fatalf("%s: ends inside a continued line", path)
	}
	return out
}

// stage is one FROM ... section.
type stage struct {
	image, name string
	instrs      []instr
}

func stages(t *testing.T, path string, ins []instr) []stage {
	t.Helper()
	var st []stage
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := stage{image: f[len(f)-1]}
			if len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				s.image, s.name = f[len(f)-3], f[len(f)-1]
			}
			if strings.HasPrefix(s.image, "--") {
				t.Errorf("%s:%d: FROM flags are not expected here: %q", path, in.line, in.args)
			}
			st = append(st, s)
		case len(st) == 0:
			if in.cmd != "ARG" {
				t.Errorf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
			}
		default:
			st[len(st)-1].instrs = append(st[len(st)-1].instrs, in)
		}
	}
	if len(st) < 2 {
		t.Fatalf("%s: %d stages, want a build stage and a runtime stage", path, len(st))
	}
	return st
}

// pinned reports whether an image reference names a tag other than
// latest, or a digest.
func pinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon < slash+1 || strings.Contains(ref, "$") {
		return false
	}
	tag := ref[colon+1:]
	return tag != "" && tag != "latest"
}

// goBuild matches the documented build of the binary.
var goBuild = regexp.MustCompile(`go build -trimpath -ldflags "-s -w" -o (\S+) \./cmd/rbmgpu\b`)

func goModVersion(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return string(m[1])
}

func TestDockerfiles(t *testing.T) {
	goVer := goModVersion(t)
	for _, tc := range []struct {
		file    string
		runtime *regexp.Regexp // the final stage's image
	}{
		{"Dockerfile.cpu", regexp.MustCompile(`^debian:bookworm-slim$`)},
		{"Dockerfile.cuda", regexp.MustCompile(`^nvidia/cuda:1[2-9]\.\d+(\.\d+)?-(base|runtime)-ubuntu\d\d\.\d\d$`)},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := tc.file
			st := stages(t, path, parse(t, path))
			names := map[string]bool{}
			for _, s := range st {
				if !names[s.image] && !pinned(s.image) {
					t.Errorf("%s: FROM %s: pin the image to a tag (not latest) or digest", path, s.image)
				}
				if s.name != "" {
					names[s.name] = true
				}
			}
			build, final := st[0], st[len(st)-1]
			if want := "golang:" + goVer + "-bookworm"; build.image != want {
				t.Errorf("%s: build stage FROM %s, want %s (go.mod says go %s)", path, build.image, want, goVer)
			}
			if !tc.runtime.MatchString(final.image) {
				t.Errorf("%s: runtime FROM %s, want %v", path, final.image, tc.runtime)
			}

			built := ""
			for _, s := range st {
				for _, in := range s.instrs {
					switch in.cmd {
					case "COPY", "ADD":
						checkCopy(t, path, in, names)
					case "RUN":
						if m := goBuild.FindStringSubmatch(in.args); m != nil {
							built = m[1]
							if !strings.Contains(in.args, "CGO_ENABLED=1") {
								t.Errorf("%s:%d: build with CGO_ENABLED=1 (the CUDA driver is opened through cgo)", path, in.line)
							}
						}
					}
				}
			}
			if built == "" {
				t.Errorf("%s: no RUN with %s", path, goBuild)
			}
			if fi, err := os.Stat(filepath.Join(root, "cmd", "rbmgpu", "main.go")); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("%s: builds ./cmd/rbmgpu, which has no main.go: %v", path, err)
			}

			var user, entry string
			copied := false
			for _, in := range final.instrs {
				switch in.cmd {
				case "USER":
					user = in.args
				case "ENTRYPOINT":
					entry = in.args
				case "COPY":
					if strings.Contains(in.args, "--from=") && strings.Contains(in.args, built) {
						copied = true
					}
				}
			}
			if user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
				t.Errorf("%s: final stage USER %q, want a non-root user", path, user)
			}
			var ep []string
			if err := json.Unmarshal([]byte(entry), &ep); err != nil || len(ep) == 0 || filepath.Base(ep[0]) != "rbmgpu" {
				t.Errorf("%s: ENTRYPOINT %q, want the exec form [\"rbmgpu\"]", path, entry)
			}
			if !copied {
				t.Errorf("%s: final stage does not COPY --from the build stage's %s", path, built)
			}
		})
	}
	b, _ := os.ReadFile("Dockerfile.cuda")
	if !strings.Contains(string(b), "docker run --rm --gpus all") {
		t.Error("Dockerfile.cuda: document `docker run --gpus all` in its header")
	}
}

// checkCopy checks a COPY: sources from the context exist in the
// repository; --from names an earlier stage.
func checkCopy(t *testing.T, path string, in instr, stages map[string]bool) {
	t.Helper()
	f := strings.Fields(in.args)
	var from string
	var rest []string
	for _, w := range f {
		if v, ok := strings.CutPrefix(w, "--from="); ok {
			from = v
		} else if !strings.HasPrefix(w, "--") {
			rest = append(rest, w)
		}
	}
	if len(rest) < 2 {
		t.Errorf("%s:%d: COPY needs a source and a destination: %q", path, in.line, in.args)
		return
	}
	if from != "" {
		if !stages[from] {
			t.Errorf("%s:%d: COPY --from=%s: no such stage", path, in.line, from)
		}
		return
	}
	for _, src := range rest[:len(rest)-1] {
		if _, err := os.Stat(filepath.Join(root, src)); err != nil {
			t.Errorf("%s:%d: COPY %s: not in the repository (the build context is its root): %v", path, in.line, src, err)
		}
	}
}

// README's build commands must be the ones the images use: every
// `docker build` names an existing Dockerfile with the root as context,
// and every `go build` of the command builds ./cmd/rbmgpu.
func TestReadmeAgrees(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dockerBuild := regexp.MustCompile(`docker build\s+-f\s+(\S+)\s+(?:-t\s+\S+\s+)?(\S+)`)
	n := 0
	for _, m := range dockerBuild.FindAllStringSubmatch(string(b), -1) {
		n++
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("README: %q: %v", m[0], err)
		}
		if m[2] != "." {
			t.Errorf("README: %q: the build context must be the repository root (.)", m[0])
		}
	}
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "go build "); i >= 0 && strings.Contains(l, "cmd/") && !strings.Contains(l[i:], "./cmd/rbmgpu") {
			t.Errorf("README: %q does not build ./cmd/rbmgpu", strings.TrimSpace(l))
		}
		if strings.Contains(l, "-trimpath") && !goBuild.MatchString(l) {
			t.Errorf("README: %q is not the images' build command %s", strings.TrimSpace(l), goBuild)
		}
	}
	if n == 0 {
		t.Log("README has no `docker build` line yet")
	}
}

// hadolint, when installed, lints both files (not packaged in Debian).
func TestHadolint(t *testing.T) {
	bin, err := exec.LookPath("hadolint")
	if err != nil {
		t.Skip("hadolint not installed")
	}
	for _, f := range []string{"Dockerfile.cpu", "Dockerfile.cuda"} {
		if out, err := exec.Command(bin, f).CombinedOutput(); err != nil {
			t.Errorf("hadolint %s: %v\n%s", f, err, out)
		}
	}
}

func TestPinned(t *testing.T) {
	for ref, want := range map[string]bool{
		"debian:bookworm-slim": true, "nvidia/cuda:12.4.1-base-ubuntu22.04": true, "localhost:5000/x:1": true,
		"debian": false, "debian:latest": false, "localhost:5000/x": false, "x@sha256:abc": true, "${IMG}": false,
	} {
		if got := pinned(ref); got != want {
			t.Errorf("pinned(%q) = %v, want %v", ref, got, want)
		}
	}
}
