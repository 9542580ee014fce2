package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Program is an external program the tests drive, and the Debian package
// that ships it.
type Program struct {
	Name    string // executable name
	Package string // Debian package
}

// The peers. scripts/test-all.sh installs their packages.
var (
	Softflowd = Program{Name: "softflowd", Package: "softflowd"}
	Pmacctd   = Program{Name: "pmacctd", Package: "pmacct"}
	Tshark    = Program{Name: "tshark", Package: "tshark"}
)

// sbinDirs are searched after PATH: Debian puts softflowd and pmacctd in
// /usr/sbin, which a non-root user's PATH usually leaves out.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// Path finds the program, or says which package to install.
func (p Program) Path() (string, error) {
	if path, err := exec.LookPath(p.Name); err == nil {
		return path, nil
	}
	for _, d := range sbinDirs {
		path := filepath.Join(d, p.Name)
		if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s is not installed (not in PATH nor %s): install the Debian package with "+
		"`sudo apt-get install -y %s`; scripts/test-all.sh installs it on CI",
		p.Name, strings.Join(sbinDirs, ", "), p.Package)
}

// Version returns the program's first line of version output.
func (p Program) Version(ctx context.Context) (string, error) {
	path, err := p.Path()
	if err != nil {
		return "", err
	}
	var args []string
	switch p.Name {
	case Softflowd.Name:
		args = []string{"-h"} // prints "This is softflowd version X" and exits 1
	case Pmacctd.Name:
		args = []string{"-V"}
	default:
		args = []string{"--version"}
	}
	out, _ := run(ctx, path, args, "", 10*time.Second)
	// The line naming the program with a number in it: softflowd prints
	// its usage first, pmacctd its libraries' versions.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(strings.ToLower(line), p.Name) && strings.ContainsAny(line, "0123456789") {
			return strings.TrimSpace(line), nil
		}
	}
	return "", fmt.Errorf("%s: no version in output %q", p.Name, out)
}

// run starts a program in its own process group, waits at most timeout,
// and kills the whole group when it returns: pmacctd forks a process per
// plugin, and none may outlive the test. It returns stdout and stderr
// together.
func run(ctx context.Context, path string, args []string, dir string, timeout time.Duration) ([]byte, error) {
	var out bytes.Buffer
	err := start(ctx, path, args, dir, timeout, &out, &out)
	return out.Bytes(), err
}

// runStdout is run for a program whose stdout is data: stderr only goes
// into the error.
func runStdout(ctx context.Context, path string, args []string, timeout time.Duration) ([]byte, error) {
	var out, errOut bytes.Buffer
	if err := start(ctx, path, args, "", timeout, &out, &errOut); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, errOut.Bytes())
	}
	return out.Bytes(), nil
}

func start(ctx context.Context, path string, args []string, dir string, timeout time.Duration, stdout, stderr *bytes.Buffer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	err := cmd.Wait()
	// The group leader is gone; its children (pmacctd's plugins) may not
	// be. ESRCH means none are left.
	if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
		err = errors.Join(err, fmt.Errorf("kill process group of %s: %w", path, kerr))
	}
	name := filepath.Base(path) + " " + strings.Join(args, " ")
	if ctx.Err() != nil {
		return fmt.Errorf("%s: killed after %s: %w\n%s", name, timeout, ctx.Err(), stderr.Bytes())
	}
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, stderr.Bytes())
	}
	return nil
}

// ExportTimeout bounds one exporter run; both finish a small capture in a
// few seconds (pmacctd sleeps 2 s before reading a savefile).
const ExportTimeout = 30 * time.Second

// Export says how a peer exports; the zero value is what the first tests
// used: IPFIX over UDP, every packet counted, one record per direction.
type Export struct {
	Version int  // 10 (IPFIX, also for 0) or 9 (NetFlow v9)
	TCP     bool // IPFIX over TCP instead of UDP (softflowd -P tcp)
	// Sampling is 1 in N packets, announced in options data: systematic
	// count-based in softflowd (-s N), random in pmacctd (sampling_rate).
	// 0 and 1 mean every packet.
	Sampling int
	// ExternalSampling is pmacctd_ext_sampling_rate: the exporter counts
	// every packet it reads, as if the capture were already sampled 1 in
	// N, and announces N.
	ExternalSampling int
	Biflow           bool // RFC 5103 bidirectional records (softflowd -b)
}

func (x Export) version() int {
	if x.Version == 0 {
		return 10
	}
	return x.Version
}

// ErrUnsupported says a peer cannot export in the way asked.
var ErrUnsupported = errors.New("not supported by this exporter")

// RunSoftflowd replays pcapPath through softflowd, exporting to target,
// and returns its output (flow statistics at exit).
//
// -d keeps it in the foreground; it then expires every flow and exports
// it when the capture ends. -a bases its clock on the capture's packet
// times instead of the wall clock, so the sysUpTime-relative flow times
// (flowStartSysUpTime/flowEndSysUpTime) plus the systemInitTimeMilliseconds
// it exports in options data (IPFIX) or the header's sysUpTime (v9) give
// the packets' capture times. The pid file goes to dir instead of
// /var/run. "-c none" turns the control socket off: with it at a path of
// 16 characters or more (any temporary directory) softflowd 1.1.0 blocks
// in accept() on it after reading the capture's header, and never exports
// (seen with strace; /tmp/s.ctl works).
//
// softflowd 1.1.0 has no external sampling: -s samples itself.
func RunSoftflowd(ctx context.Context, pcapPath string, target netip.AddrPort, dir string, x Export) ([]byte, error) {
	path, err := Softflowd.Path()
	if err != nil {
		return nil, err
	}
	if x.ExternalSampling > 1 {
		return nil, fmt.Errorf("softflowd: external sampling: %w", ErrUnsupported)
	}
	if (x.Biflow || x.TCP) && x.version() != 10 {
		// -b works with -v 10 only (its usage says so), and NetFlow v9
		// messages carry no length to frame them on a stream.
		return nil, fmt.Errorf("softflowd: biflow or TCP with NetFlow v%d: %w", x.version(), ErrUnsupported)
	}
	args := []string{
		"-d", "-r", pcapPath, "-n", target.String(), "-v", strconv.Itoa(x.version()), "-a",
		"-p", filepath.Join(dir, "softflowd.pid"), "-c", "none",
	}
	if x.TCP {
		args = append(args, "-P", "tcp")
	}
	if x.Sampling > 1 {
		args = append(args, "-s", strconv.Itoa(x.Sampling))
	}
	if x.Biflow {
		args = append(args, "-b")
	}
	return run(ctx, path, args, dir, ExportTimeout)
}

// RunPmacctd replays pcapPath through pmacctd with the nfprobe plugin,
// exporting over UDP to target. Its configuration file is written to dir.
// pmacctd exits when the savefile ends (pcap_savefile_wait is false) and
// the plugin expires and exports every flow as it shuts down. The
// aggregate list is nfprobe's default for IPFIX and v9 (src_host,
// dst_host, src_port, dst_port, proto, tos) plus tcpflags.
//
// pmacct 1.7.7's nfprobe exports over UDP only (nfprobe_dtls aside; no TCP
// or SCTP key in CONFIG-KEYS) and one record per direction (no RFC 5103
// biflow): asking for either is ErrUnsupported.
func RunPmacctd(ctx context.Context, pcapPath string, target netip.AddrPort, dir string, x Export) ([]byte, error) {
	path, err := Pmacctd.Path()
	if err != nil {
		return nil, err
	}
	if x.TCP || x.Biflow {
		return nil, fmt.Errorf("pmacctd nfprobe: TCP transport or biflow: %w", ErrUnsupported)
	}
	lines := []string{
		"daemonize: false",
		"pcap_savefile: " + pcapPath,
		"pcap_savefile_wait: false",
		"plugins: nfprobe",
		"nfprobe_receiver: " + target.String(),
		"nfprobe_version: " + strconv.Itoa(x.version()),
		"aggregate: src_host, dst_host, src_port, dst_port, proto, tos, tcpflags",
	}
	if x.Sampling > 1 {
		lines = append(lines, "sampling_rate: "+strconv.Itoa(x.Sampling))
	}
	if x.ExternalSampling > 1 {
		lines = append(lines, "pmacctd_ext_sampling_rate: "+strconv.Itoa(x.ExternalSampling))
	}
	conf := strings.Join(append(lines, ""), "\n")
	confPath := filepath.Join(dir, "pmacctd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	out, err := run(ctx, path, []string{"-f", confPath}, dir, ExportTimeout)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 &&
		bytes.Contains(out, []byte("nfprobe ): Shutting down on user request")) &&
		bytes.Contains(out, []byte("no more plugins active. Shutting down")) {
		// At the end of a savefile the core signals the plugin to stop; the
		// plugin expires and exports every flow, then exits. If its exit
		// reaches the core's SIGCHLD handler before the core has stopped
		// watching for failed plugins, the core logs "connection lost" and
		// exits 1 (pmacct's handle_falling_child). It happens on a busy
		// machine; the export itself is complete, and the tests check that
		// from what arrived.
		return out, nil
	}
	return out, err
}
