// Package config reads the process configuration. Grafana hands every key of
// the [plugin.netlens-telemetry-datasource] section of grafana.ini to the
// backend process as GF_PLUGIN_<KEY>; these settings exist before any data
// source instance does, which is why receivers and the store are configured
// here and not in a data source's jsonData.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix is what Grafana puts before each upper-cased key.
const EnvPrefix = "GF_PLUGIN_"

// Config is the whole process configuration.
type Config struct {
	// DataDir holds the series store (TSDB blocks and WAL).
	DataDir string
	// Retention is how long series are kept.
	Retention time.Duration
	// RetentionSize caps the series store on disk, in bytes; 0 is no cap.
	RetentionSize int64
	// AllowedNetworks restricts which peers may send telemetry; empty allows all.
	AllowedNetworks []netip.Prefix
	// LiveBufferFrames bounds each live stream's queue of pending frames.
	LiveBufferFrames int

	FTD   FTD
	IPFIX IPFIX
	XR    XR
	INT   INT
	// RecordsMaxBytes caps the in-memory record store (flows, INT reports);
	// past it the oldest partition is evicted and counted.
	RecordsMaxBytes int64

	// raw holds every key's effective text, for the config page.
	raw map[string]string
}

// Value is the effective text of a key (set or default), as the data
// source's config page shows it.
func (c Config) Value(key string) string { return c.raw[key] }

// FTD configures the Firepower Threat Defense gRPC dial-out receiver.
type FTD struct {
	// ListenAddress is host:port; empty (or "off") turns the receiver off.
	ListenAddress string
	CertFile      string // collector (server) certificate, PEM
	KeyFile       string // its private key, PEM
	CAFile        string // CA that signs device certificates, PEM
	// Interval is what the collector asks devices to stream at.
	Interval time.Duration
	// MaxMessageBytes bounds one gRPC message from a device.
	MaxMessageBytes int
	// MaxTags bounds the tags of one metric; a metric with more is rejected.
	MaxTags int
}

// IPFIX configures the IPFIX (and NetFlow v9) collector.
type IPFIX struct {
	// UDPListenAddress and TCPListenAddress are host:port; empty turns each off.
	UDPListenAddress string
	TCPListenAddress string
	// AllowedNetworks narrows allowed_networks for IPFIX exporters; empty
	// means the global list applies.
	AllowedNetworks []netip.Prefix
	// UDPSockets is how many SO_REUSEPORT sockets share the UDP port, and
	// Workers how many goroutines decode; an exporter always lands on the
	// same worker so its templates and sequence numbers stay in one place.
	UDPSockets int
	Workers    int
	// QueueDatagrams bounds each worker's queue; a full queue drops and counts.
	QueueDatagrams int
	// ReadBufferBytes is the SO_RCVBUF asked for each UDP socket.
	ReadBufferBytes int
	// SamplingOverrides replaces the sampling rate of exporters that report
	// it wrongly (or not at all): the longest matching prefix wins.
	SamplingOverrides []SamplingOverride
	// DefinitionsFile names and types enterprise elements (Flowmon, vendor
	// fields) that are not in the IANA registry.
	DefinitionsFile string
	// TemplateLifetime is how long a template learnt over UDP stays valid
	// without being refreshed (RFC 7011 section 8.4 suggests 3x the refresh).
	TemplateLifetime time.Duration
	// MaxTemplates caps the templates one exporter (address, port and
	// observation domain) may define, against template floods.
	MaxTemplates int
	// ExporterTimeout is how long an exporter may stay silent before the
	// health check reports it stopped.
	ExporterTimeout time.Duration
}

// XR configures the Cisco IOS XR telemetry receivers: policy-driven (PDT)
// and model-driven (MDT) telemetry over TCP and UDP on one port, and MDT
// gRPC dial-out on another.
type XR struct {
	// TCPListenAddress and UDPListenAddress are host:port; empty turns each
	// off. Routers send PDT and MDT TCP dial-out to the same TCP port.
	TCPListenAddress string
	UDPListenAddress string
	// GRPCListenAddress receives MDT gRPC dial-out (gRPCMdtDialout); empty
	// turns it off.
	GRPCListenAddress string
	// GRPCCertFile and GRPCKeyFile turn on TLS for gRPC dial-out; with
	// GRPCClientCAFile as well, routers must present a certificate signed by
	// that CA (mutual TLS). All empty: plaintext, as routers dial by default.
	GRPCCertFile     string
	GRPCKeyFile      string
	GRPCClientCAFile string
	// AllowedNetworks narrows allowed_networks for routers; empty means the
	// global list applies.
	AllowedNetworks []netip.Prefix
	// MaxMessageBytes bounds one framed message on the wire and, once
	// inflated, its decompressed size (against zlib bombs).
	MaxMessageBytes int
	// MaxConnections bounds concurrent TCP and gRPC connections.
	MaxConnections int
	// PolicyDir holds the routers' .policy files and ProtoDir the .proto
	// files of compact GPB rows; empty means none.
	PolicyDir string
	ProtoDir  string
	// MaxSeriesPerRouter bounds the series one router may create; leaves
	// past it are dropped and counted.
	MaxSeriesPerRouter int
	// RouterTimeout is how long a router that sent nothing, and no policy
	// period says otherwise, may stay silent before health reports it.
	RouterTimeout time.Duration
}

// INT configures the receiver of INT telemetry reports (flow, drop and
// queue reports, INT reports from the sink, postcards) sent over UDP by
// INT switches to their monitor-collector.
type INT struct {
	// UDPListenAddress is host:port; empty turns the receiver off.
	UDPListenAddress string
	// AllowedNetworks narrows allowed_networks for switches; empty means
	// the global list applies.
	AllowedNetworks []netip.Prefix
	// Sockets share the port (SO_REUSEPORT); Workers decode and map, one
	// switch address always on the same one (its sequence numbers and
	// postcards meet there); QueueDatagrams bounds each worker's queue;
	// ReadBufferBytes is the SO_RCVBUF asked for each socket.
	Sockets, Workers, QueueDatagrams, ReadBufferBytes int
	// DSCP and DSCPMask mark INT inside a reported packet after its TCP/UDP
	// header ((dscp & mask) == value); a zero mask means no DSCP marker.
	// Ports marks it by destination port instead (or as well); with neither
	// the inner packets are never searched for INT (postcards only).
	DSCP, DSCPMask uint8
	Ports          []uint16
	// MaxHops refuses stacks of more hops (too_many_hops).
	MaxHops int
	// SwitchTimeout is how long a switch may stay silent before the health
	// check reports it stopped.
	SwitchTimeout time.Duration
}

// MaxINTHops is the deepest INT stack the decoder keeps
// (intreport.HopLimit; pkg/server's tests check the two agree).
const MaxINTHops = 32

// SamplingOverride forces the sampling rate (1 in Rate packets) for
// exporters inside Prefix.
type SamplingOverride struct {
	Prefix netip.Prefix
	Rate   uint64
}

// SamplingOverrideFor is the configured rate for an exporter address, if any.
func (c IPFIX) SamplingOverrideFor(addr netip.Addr) (uint64, bool) {
	addr = addr.Unmap()
	best, rate := -1, uint64(0)
	for _, o := range c.SamplingOverrides {
		if o.Prefix.Contains(addr) && o.Prefix.Bits() > best {
			best, rate = o.Prefix.Bits(), o.Rate
		}
	}
	return rate, best >= 0
}

// The FTD documentation bounds the streaming interval to 1 minute .. 24 hours.
const (
	MinFTDInterval = 60 * time.Second
	MaxFTDInterval = 24 * time.Hour
)

// Key documents one setting: its grafana.ini key, default and meaning. The
// README's table is written from this list so the two cannot drift apart.
type Key struct {
	Name, Default, Help string
}

// Keys lists every setting with its default.
var Keys = []Key{
	{"data_dir", "/var/lib/grafana/netlens", "directory for the series store (TSDB blocks and write-ahead log)"},
	{"retention", "15d", "how long samples are kept (units s, m, h, d, w)"},
	{"retention_size", "4GB", "cap on the series store's size on disk (B, KB, MB, GB, TB; 0 for none)"},
	{"allowed_networks", "", "comma-separated CIDRs allowed to send telemetry; empty allows every address"},
	{"live_buffer_frames", "64", "frames a slow live stream may queue before new ones are dropped and counted"},
	{"ftd_listen_address", ":50051", "FTD gRPC dial-out listener (host:port); off turns it off"},
	{"ftd_tls_cert_file", "/etc/netlens/certs/server.crt", "collector certificate presented to FTD devices (PEM)"},
	{"ftd_tls_key_file", "/etc/netlens/certs/server.key", "private key of the collector certificate (PEM)"},
	{"ftd_tls_ca_file", "/etc/netlens/certs/ca.crt", "CA that signed the devices' client certificates (PEM); mutual TLS is mandatory"},
	{"ftd_interval", "60s", "streaming interval requested from devices, 60s to 24h"},
	{"ftd_max_message_bytes", "4194304", "largest gRPC message accepted from a device"},
	{"ftd_max_tags", "64", "most tags one metric may carry; a metric with more is rejected and counted"},
	{"records_max_bytes", "512MB", "memory cap of the record store (flow records, INT reports); the oldest records are evicted and counted past it"},
	{"ipfix_udp_listen_address", ":4739", "IPFIX and NetFlow v9 UDP listener (host:port); off turns it off"},
	{"ipfix_tcp_listen_address", ":4739", "IPFIX TCP listener (host:port); off turns it off"},
	{"ipfix_allowed_networks", "", "comma-separated CIDRs of IPFIX exporters; empty uses allowed_networks"},
	{"ipfix_udp_sockets", "2", "UDP sockets sharing the IPFIX port (SO_REUSEPORT), 1 to 64"},
	{"ipfix_workers", "2", "goroutines decoding IPFIX, 1 to 256; one exporter always uses the same one"},
	{"ipfix_queue_datagrams", "8192", "datagrams each IPFIX worker may queue before new ones are dropped and counted"},
	{"ipfix_udp_read_buffer", "8MB", "socket receive buffer asked for each IPFIX UDP socket (the kernel may cap it at net.core.rmem_max)"},
	{"ipfix_sampling_override", "", "comma-separated prefix=rate pairs (e.g. 192.0.2.7=1000,10.1.0.0/16=512) forcing the sampling rate of exporters that report it wrongly"},
	{"ipfix_definitions_file", "", "JSON file naming and typing enterprise information elements (e.g. Flowmon PEN 39499); empty for none"},
	{"ipfix_template_lifetime", "30m", "how long a template learnt over UDP lives without a refresh"},
	{"ipfix_max_templates", "4096", "most templates one exporter and observation domain may define; more are refused and counted"},
	{"ipfix_exporter_timeout", "5m", "silence after which the health check reports an exporter stopped"},
	{"xr_tcp_listen_address", ":57500", "IOS XR TCP listener for policy-driven telemetry and model-driven TCP dial-out (host:port); off turns it off"},
	{"xr_udp_listen_address", ":57500", "IOS XR UDP listener for policy-driven compact GPB and model-driven UDP dial-out (host:port); off turns it off"},
	{"xr_grpc_listen_address", ":57000", "IOS XR model-driven gRPC dial-out listener (host:port); off turns it off"},
	{"xr_grpc_tls_cert_file", "", "certificate presented to routers on gRPC dial-out (PEM); empty for plaintext"},
	{"xr_grpc_tls_key_file", "", "private key of that certificate (PEM)"},
	{"xr_grpc_tls_client_ca_file", "", "CA that signed the routers' client certificates (PEM); set it to require mutual TLS"},
	{"xr_allowed_networks", "", "comma-separated CIDRs of IOS XR routers; empty uses allowed_networks"},
	{"xr_max_message_bytes", "16MB", "largest IOS XR message, framed and once inflated (real messages exceed 600KB)"},
	{"xr_max_connections", "256", "most concurrent IOS XR TCP and gRPC connections"},
	{"xr_policy_dir", "", "directory of the routers' .policy files (policy-driven telemetry); empty for none"},
	{"xr_proto_dir", "", "directory of the .proto files of compact GPB rows; empty for none"},
	{"xr_max_series_per_router", "100000", "most series one router may create; leaves past it are dropped and counted"},
	{"xr_router_timeout", "5m", "silence after which health reports a router stopped, when no policy period says otherwise"},
	// INT defaults follow Cisco NX-OS, the switches the issue names: its
	// exporter sends to UDP 31337 unless told otherwise ("transport udp
	// <port>", default 31337), and its INT flow profile marks INT packets
	// with DSCP 1 by default. The values NX-OS allows (1, 2, 4, 8, 16, 32,
	// 63) are single DSCP bits, so the marker is a bit under a mask (P4
	// INT over TCP/UDP: "a reserved DSCP value or bit"), not an exact DSCP:
	// the other bits keep the application's own marking. NX-OS marks by
	// DSCP only, so no port marks INT by default; int_ports serves
	// domains whose sources reserve a destination port instead.
	{"int_udp_listen_address", ":31337", "INT telemetry report UDP listener (host:port; NX-OS exports to 31337 by default); off turns it off"},
	{"int_allowed_networks", "", "comma-separated CIDRs of INT switches; empty uses allowed_networks"},
	{"int_sockets", "2", "UDP sockets sharing the INT port (SO_REUSEPORT), 1 to 64"},
	// Two workers, one per core of a small collector: workers are chosen
	// by switch address (report loss is tracked per switch), and the
	// postcards of one packet, sent by different switches, meet in the
	// mapper's joiners, which all workers share by flow.
	{"int_workers", "2", "goroutines decoding and mapping INT reports, 1 to 256; one switch address always uses the same one"},
	{"int_queue_datagrams", "16384", "datagrams each INT worker may queue before new ones are dropped and counted"},
	{"int_read_buffer_bytes", "32MB", "socket receive buffer asked for each INT UDP socket (the kernel may cap it at net.core.rmem_max)"},
	{"int_dscp", "0x01/0x01", "DSCP value/mask marking INT after the inner TCP/UDP header (NX-OS flow-profile dscp, default 1, is one bit); a value alone must match all six bits; off for none"},
	{"int_ports", "", "comma-separated TCP/UDP destination ports marking INT after the inner L4 header; empty for none"},
	{"int_max_hops", "32", "most hops an INT stack may carry, 1 to 32; longer stacks are refused and counted (too_many_hops)"},
	{"int_switch_timeout", "5m", "silence after which the health check reports an INT switch stopped (NX-OS re-reports a watched flow every flow-profile age, default 30s)"},
}

// FromEnv reads the configuration through lookup (os.LookupEnv in main),
// applying defaults and checking every value. All problems are reported at
// once so an operator can fix grafana.ini in one go.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		if v, ok := lookup(EnvPrefix + strings.ToUpper(name)); ok {
			return strings.TrimSpace(v)
		}
		for _, k := range Keys {
			if k.Name == name {
				return k.Default
			}
		}
		panic("config: unknown key " + name)
	}
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, &KeyError{Key: name, Err: err})
	}
	var c Config
	var err error
	c.raw = make(map[string]string, len(Keys))
	for _, k := range Keys {
		c.raw[k.Name] = get(k.Name)
	}
	c.DataDir = get("data_dir")
	if c.DataDir == "" {
		bad("data_dir", errors.New("must not be empty"))
	}
	if c.Retention, err = ParseDuration(get("retention")); err != nil {
		bad("retention", err)
	} else if c.Retention < time.Hour {
		bad("retention", fmt.Errorf("%s is shorter than the minimum of 1h", c.Retention))
	}
	if c.RetentionSize, err = ParseBytes(get("retention_size")); err != nil {
		bad("retention_size", err)
	}
	if c.AllowedNetworks, err = parsePrefixes(get("allowed_networks")); err != nil {
		bad("allowed_networks", err)
	}
	if c.LiveBufferFrames, err = parseInt(get("live_buffer_frames"), 1, 100000); err != nil {
		bad("live_buffer_frames", err)
	}

	if c.RecordsMaxBytes, err = ParseBytes(get("records_max_bytes")); err != nil {
		bad("records_max_bytes", err)
	} else if c.RecordsMaxBytes < 1<<20 {
		bad("records_max_bytes", fmt.Errorf("%d bytes is below the minimum of 1MB", c.RecordsMaxBytes))
	}
	c.IPFIX, errs = readIPFIX(get, errs)
	c.XR, errs = readXR(get, errs)
	c.INT, errs = readINT(get, errs)

	c.FTD.ListenAddress = listenAddress(get("ftd_listen_address"))
	c.FTD.CertFile = get("ftd_tls_cert_file")
	c.FTD.KeyFile = get("ftd_tls_key_file")
	c.FTD.CAFile = get("ftd_tls_ca_file")
	if c.FTD.Interval, err = ParseDuration(get("ftd_interval")); err != nil {
		bad("ftd_interval", err)
	} else if c.FTD.Interval < MinFTDInterval || c.FTD.Interval > MaxFTDInterval {
		bad("ftd_interval", fmt.Errorf("%s is outside the range FTD devices accept (60s to 24h)", c.FTD.Interval))
	} else if c.FTD.Interval%time.Second != 0 {
		bad("ftd_interval", fmt.Errorf("%s is not a whole number of seconds", c.FTD.Interval))
	}
	if c.FTD.MaxMessageBytes, err = parseInt(get("ftd_max_message_bytes"), 1024, 256<<20); err != nil {
		bad("ftd_max_message_bytes", err)
	}
	if c.FTD.MaxTags, err = parseInt(get("ftd_max_tags"), 1, 10000); err != nil {
		bad("ftd_max_tags", err)
	}
	if c.FTD.ListenAddress != "" {
		for name, v := range map[string]string{"ftd_tls_cert_file": c.FTD.CertFile, "ftd_tls_key_file": c.FTD.KeyFile, "ftd_tls_ca_file": c.FTD.CAFile} {
			if v == "" {
				bad(name, errors.New("must be set while ftd_listen_address is set: mutual TLS is mandatory"))
			}
		}
	}
	return c, errors.Join(errs...)
}

func readIPFIX(get func(string) string, errs []error) (IPFIX, []error) {
	bad := func(name string, err error) {
		errs = append(errs, &KeyError{Key: name, Err: err})
	}
	var c IPFIX
	var err error
	c.UDPListenAddress = listenAddress(get("ipfix_udp_listen_address"))
	c.TCPListenAddress = listenAddress(get("ipfix_tcp_listen_address"))
	if c.AllowedNetworks, err = parsePrefixes(get("ipfix_allowed_networks")); err != nil {
		bad("ipfix_allowed_networks", err)
	}
	if c.UDPSockets, err = parseInt(get("ipfix_udp_sockets"), 1, 64); err != nil {
		bad("ipfix_udp_sockets", err)
	}
	if c.Workers, err = parseInt(get("ipfix_workers"), 1, 256); err != nil {
		bad("ipfix_workers", err)
	}
	if c.QueueDatagrams, err = parseInt(get("ipfix_queue_datagrams"), 16, 1<<20); err != nil {
		bad("ipfix_queue_datagrams", err)
	}
	if n, err := ParseBytes(get("ipfix_udp_read_buffer")); err != nil {
		bad("ipfix_udp_read_buffer", err)
	} else if n < 64<<10 || n > 1<<30 {
		bad("ipfix_udp_read_buffer", fmt.Errorf("%d bytes is outside 64KB..1GB", n))
	} else {
		c.ReadBufferBytes = int(n)
	}
	if c.SamplingOverrides, err = parseSamplingOverrides(get("ipfix_sampling_override")); err != nil {
		bad("ipfix_sampling_override", err)
	}
	c.DefinitionsFile = get("ipfix_definitions_file")
	if c.TemplateLifetime, err = ParseDuration(get("ipfix_template_lifetime")); err != nil {
		bad("ipfix_template_lifetime", err)
	} else if c.TemplateLifetime < time.Minute {
		bad("ipfix_template_lifetime", fmt.Errorf("%s is shorter than the minimum of 1m", c.TemplateLifetime))
	}
	if c.MaxTemplates, err = parseInt(get("ipfix_max_templates"), 1, 65280); err != nil {
		bad("ipfix_max_templates", err)
	}
	if c.ExporterTimeout, err = ParseDuration(get("ipfix_exporter_timeout")); err != nil {
		bad("ipfix_exporter_timeout", err)
	} else if c.ExporterTimeout < 10*time.Second {
		bad("ipfix_exporter_timeout", fmt.Errorf("%s is shorter than the minimum of 10s", c.ExporterTimeout))
	}
	return c, errs
}

func readXR(get func(string) string, errs []error) (XR, []error) {
	bad := func(name string, err error) {
		errs = append(errs, &KeyError{Key: name, Err: err})
	}
	var c XR
	var err error
	c.TCPListenAddress = listenAddress(get("xr_tcp_listen_address"))
	c.UDPListenAddress = listenAddress(get("xr_udp_listen_address"))
	c.GRPCListenAddress = listenAddress(get("xr_grpc_listen_address"))
	c.GRPCCertFile = get("xr_grpc_tls_cert_file")
	c.GRPCKeyFile = get("xr_grpc_tls_key_file")
	c.GRPCClientCAFile = get("xr_grpc_tls_client_ca_file")
	if (c.GRPCCertFile == "") != (c.GRPCKeyFile == "") {
		bad("xr_grpc_tls_cert_file", errors.New("xr_grpc_tls_cert_file and xr_grpc_tls_key_file go together"))
	}
	if c.GRPCClientCAFile != "" && c.GRPCCertFile == "" {
		bad("xr_grpc_tls_client_ca_file", errors.New("mutual TLS needs xr_grpc_tls_cert_file and xr_grpc_tls_key_file too"))
	}
	if c.AllowedNetworks, err = parsePrefixes(get("xr_allowed_networks")); err != nil {
		bad("xr_allowed_networks", err)
	}
	if n, err := ParseBytes(get("xr_max_message_bytes")); err != nil {
		bad("xr_max_message_bytes", err)
	} else if n < 64<<10 || n > 1<<30 {
		bad("xr_max_message_bytes", fmt.Errorf("%d bytes is outside 64KB..1GB", n))
	} else {
		c.MaxMessageBytes = int(n)
	}
	if c.MaxConnections, err = parseInt(get("xr_max_connections"), 1, 65536); err != nil {
		bad("xr_max_connections", err)
	}
	c.PolicyDir = get("xr_policy_dir")
	c.ProtoDir = get("xr_proto_dir")
	if c.MaxSeriesPerRouter, err = parseInt(get("xr_max_series_per_router"), 100, 10_000_000); err != nil {
		bad("xr_max_series_per_router", err)
	}
	if c.RouterTimeout, err = ParseDuration(get("xr_router_timeout")); err != nil {
		bad("xr_router_timeout", err)
	} else if c.RouterTimeout < 10*time.Second {
		bad("xr_router_timeout", fmt.Errorf("%s is shorter than the minimum of 10s", c.RouterTimeout))
	}
	return c, errs
}

func readINT(get func(string) string, errs []error) (INT, []error) {
	bad := func(name string, err error) {
		errs = append(errs, &KeyError{Key: name, Err: err})
	}
	var c INT
	var err error
	c.UDPListenAddress = listenAddress(get("int_udp_listen_address"))
	if c.AllowedNetworks, err = parsePrefixes(get("int_allowed_networks")); err != nil {
		bad("int_allowed_networks", err)
	}
	if c.Sockets, err = parseInt(get("int_sockets"), 1, 64); err != nil {
		bad("int_sockets", err)
	}
	if c.Workers, err = parseInt(get("int_workers"), 1, 256); err != nil {
		bad("int_workers", err)
	}
	if c.QueueDatagrams, err = parseInt(get("int_queue_datagrams"), 16, 1<<20); err != nil {
		bad("int_queue_datagrams", err)
	}
	if n, err := ParseBytes(get("int_read_buffer_bytes")); err != nil {
		bad("int_read_buffer_bytes", err)
	} else if n < 64<<10 || n > 1<<30 {
		bad("int_read_buffer_bytes", fmt.Errorf("%d bytes is outside 64KB..1GB", n))
	} else {
		c.ReadBufferBytes = int(n)
	}
	if c.DSCP, c.DSCPMask, err = parseDSCP(get("int_dscp")); err != nil {
		bad("int_dscp", err)
	}
	if c.Ports, err = parsePorts(get("int_ports")); err != nil {
		bad("int_ports", err)
	}
	if c.MaxHops, err = parseInt(get("int_max_hops"), 1, MaxINTHops); err != nil {
		bad("int_max_hops", err)
	}
	if c.SwitchTimeout, err = ParseDuration(get("int_switch_timeout")); err != nil {
		bad("int_switch_timeout", err)
	} else if c.SwitchTimeout < 10*time.Second {
		bad("int_switch_timeout", fmt.Errorf("%s is shorter than the minimum of 10s", c.SwitchTimeout))
	}
	return c, errs
}

// parseDSCP reads "value/mask" ("0x01/0x01", "1/1", "0x20/0x20"), or a
// value alone, which must then match all six DSCP bits. "off" (or "none")
// is no DSCP marker: an empty value cannot say so, Grafana drops it.
func parseDSCP(s string) (value, mask uint8, err error) {
	if listenAddress(s) == "" {
		return 0, 0, nil
	}
	v, m, hasMask := strings.Cut(s, "/")
	num := func(t string) (uint8, error) {
		n, err := strconv.ParseUint(strings.TrimSpace(t), 0, 8)
		if err != nil || n > 0x3f {
			return 0, fmt.Errorf("%q is not a 6-bit DSCP (0 to 63, or 0x00 to 0x3f)", strings.TrimSpace(t))
		}
		return uint8(n), nil
	}
	if value, err = num(v); err != nil {
		return 0, 0, err
	}
	mask = 0x3f
	if hasMask {
		if mask, err = num(m); err != nil {
			return 0, 0, err
		}
		if mask == 0 {
			return 0, 0, errors.New("a zero mask would match every packet; use off for no DSCP marker")
		}
	}
	if value&^mask != 0 {
		return 0, 0, fmt.Errorf("value 0x%02x has bits outside mask 0x%02x", value, mask)
	}
	return value, mask, nil
}

// parsePorts reads comma-separated destination ports, 1 to 65535.
func parsePorts(s string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a port from 1 to 65535", f)
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

// parseSamplingOverrides reads "192.0.2.7=1000,10.1.0.0/16=512"; a bare
// address is a /32 (or /128).
func parseSamplingOverrides(s string) ([]SamplingOverride, error) {
	var out []SamplingOverride
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		net, rate, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not prefix=rate", f)
		}
		var p netip.Prefix
		var err error
		if strings.Contains(net, "/") {
			p, err = netip.ParsePrefix(strings.TrimSpace(net))
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(strings.TrimSpace(net)); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %v", net, err)
		}
		r, err := strconv.ParseUint(strings.TrimSpace(rate), 10, 64)
		if err != nil || r == 0 || r > 1<<32 {
			return nil, fmt.Errorf("%q is not a sampling rate from 1 to 2^32", rate)
		}
		out = append(out, SamplingOverride{Prefix: p.Masked(), Rate: r})
	}
	return out, nil
}

// KeyError is a refused setting; FromEnv joins one per bad key.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("[plugin.netlens-telemetry-datasource] %s: %v", e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// BadKeys lists the keys FromEnv refused, so a receiver whose settings were
// refused stays off instead of starting with defaults.
func BadKeys(err error) []string {
	var keys []string
	var walk func(error)
	walk = func(e error) {
		if ke, ok := e.(*KeyError); ok {
			keys = append(keys, ke.Key)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return keys
}

// Allowed reports whether a peer address may send telemetry.
func (c Config) Allowed(addr netip.Addr) bool {
	if len(c.AllowedNetworks) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range c.AllowedNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// listenAddress maps "off" to no listener. An empty value cannot do that
// from grafana.ini: Grafana drops empty keys before the plugin sees them,
// and the default then applies.
func listenAddress(s string) string {
	switch strings.ToLower(s) {
	case "off", "none", "disabled", "false":
		return ""
	}
	return s
}

func parseInt(s string, min, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("%d is outside %d..%d", n, min, max)
	}
	return n, nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParseDuration accepts Go durations plus the d and w units operators use
// for retention ("15d", "2w").
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	mult := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		mult = 7 * 24 * time.Hour
	}
	if mult != 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		return time.Duration(n * float64(mult)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (examples: 90s, 15m, 6h, 15d)", s)
	}
	return d, nil
}

// ParseBytes accepts a plain byte count or one with a B, KB, MB, GB or TB
// suffix (powers of 1024, as Prometheus' retention size does).
func ParseBytes(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range []struct {
		suf string
		m   int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, x.suf) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, x.suf)), x.m
			break
		}
	}
	n, err := strconv.ParseFloat(u, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 0, 512MB, 4GB)", s)
	}
	return int64(n * float64(mult)), nil
}

// AllowedINTNetworks is the allow-list for INT switches: int_allowed_networks
// when set, else allowed_networks (empty: every address).
func (c Config) AllowedINTNetworks() []netip.Prefix {
	if len(c.INT.AllowedNetworks) > 0 {
		return c.INT.AllowedNetworks
	}
	return c.AllowedNetworks
}

// AllowedIPFIX reports whether an IPFIX exporter may send: its own list when
// set, the global one otherwise.
func (c Config) AllowedIPFIX(addr netip.Addr) bool {
	if len(c.IPFIX.AllowedNetworks) == 0 {
		return c.Allowed(addr)
	}
	addr = addr.Unmap()
	for _, p := range c.IPFIX.AllowedNetworks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
