// Package demotest holds what the in-process tests of the compose demo
// share: reading the repository's files and the image's grafana.ini,
// starting the collector from those settings, asking the data source as
// Grafana does, and reading dashboards, frames and alert rule steps. Only
// the tests of docker, docker/iosxr and docker/int import it; it is a
// normal package so that all three can.
package demotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"go.yaml.in/yaml/v3"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/server"
)

// IniSection is the data source's section of grafana.ini.
const IniSection = "plugin.netlens-telemetry-datasource"

// ImageIni is the image's grafana.ini, from the repository's root.
const ImageIni = "docker/grafana.ini"

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// Root is the repository: the nearest folder above the test's own that
// holds go.mod (go test runs a package's tests in its folder).
func Root(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			up := filepath.Dir(dir)
			if up == dir {
				rootErr = os.ErrNotExist
				return
			}
			dir = up
		}
	})
	if rootErr != nil {
		t.Fatalf("no go.mod above the test's folder: %v", rootErr)
	}
	return root
}

// Path is a repository path (slash-separated, from the root) on this
// machine.
func Path(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(Root(t), filepath.FromSlash(rel))
}

// Read reads a file of the repository.
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadYAML decodes a YAML file of the repository into v.
func ReadYAML(t testing.TB, rel string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(Read(t, rel), v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// ReadJSON decodes a JSON file of the repository into v.
func ReadJSON(t testing.TB, rel string, v any) {
	t.Helper()
	if err := json.Unmarshal(Read(t, rel), v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// IniKeys reads one section of a grafana.ini file as Grafana does: keys
// with an empty value are left out.
func IniKeys(t testing.TB, rel, section string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	in := ""
	sc := bufio.NewScanner(bytes.NewReader(Read(t, rel)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			in = strings.Trim(line, "[]")
		case in == section:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not key = value", rel, line)
			}
			if k, v = strings.TrimSpace(k), strings.TrimSpace(v); v != "" {
				keys[k] = v
			}
		}
	}
	return keys
}

// ImageKeys is the data source's section of the image's grafana.ini.
func ImageKeys(t testing.TB) map[string]string {
	t.Helper()
	return IniKeys(t, ImageIni, IniSection)
}

// ProvisioningDir is where the image copies the repository's provisioning/.
const ProvisioningDir = "/etc/grafana/provisioning/"

// Provisioned maps a path under the image's provisioning folder to the
// repository's copy on this machine; ok is false for any other path.
func Provisioned(t testing.TB, imagePath string) (local string, ok bool) {
	t.Helper()
	rel, ok := strings.CutPrefix(imagePath, ProvisioningDir)
	if !ok {
		return "", false
	}
	return filepath.Join(Root(t), "provisioning", rel), true
}

// StartCollector starts the process scope with settings keyed as in
// grafana.ini, as Grafana hands them to the plugin process (the
// GF_PLUGIN_ environment), and shuts it down within shutdown when the test
// ends. Any start-up problem fails the test.
func StartCollector(t testing.TB, keys map[string]string, shutdown time.Duration) *server.Server {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) (string, bool) {
		v, ok := keys[strings.ToLower(strings.TrimPrefix(k, config.EnvPrefix))]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.Start(cfg, nil, log.NewNullLogger())
	t.Cleanup(func() {
		if err := srv.Shutdown(shutdown); err != nil {
			t.Error(err)
		}
	})
	if len(srv.Problems) > 0 {
		t.Fatalf("collector did not start: %v", srv.Problems)
	}
	return srv
}

// ComposeService is what the tests read of a docker-compose.yaml service.
type ComposeService struct {
	Command   []string `yaml:"command"`
	Ports     []string `yaml:"ports"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

// ComposeServices reads the repository's docker-compose.yaml services.
func ComposeServices(t testing.TB) map[string]ComposeService {
	t.Helper()
	var c struct {
		Services map[string]ComposeService `yaml:"services"`
	}
	ReadYAML(t, "docker-compose.yaml", &c)
	return c.Services
}

// Flag is one argument of a compose service's command ("-name=value", or
// "-name" alone), to be read the way netlens-sim's flags read it.
type Flag struct {
	Service, Arg, Name, Value string
}

// Flags splits a compose service's command arguments into flags.
func Flags(service string, args []string) []Flag {
	out := make([]Flag, len(args))
	for i, arg := range args {
		k, v, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		out[i] = Flag{Service: service, Arg: arg, Name: k, Value: v}
	}
	return out
}

// Int is the flag's value as a whole number; anything else fails the test.
func (f Flag) Int(t testing.TB) int {
	t.Helper()
	n, err := strconv.Atoi(f.Value)
	if err != nil {
		t.Fatalf("%s: %s: %v", f.Service, f.Arg, err)
	}
	return n
}

// Float is the flag's value as a number; anything else fails the test.
func (f Flag) Float(t testing.TB) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(f.Value, 64)
	if err != nil {
		t.Fatalf("%s: %s: %v", f.Service, f.Arg, err)
	}
	return x
}

// Duration is the flag's value as a duration; anything else fails the
// test.
func (f Flag) Duration(t testing.TB) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(f.Value)
	if err != nil {
		t.Fatalf("%s: %s: %v", f.Service, f.Arg, err)
	}
	return d
}
