// Package intdemo checks the INT side of the compose demo: the compose
// file and grafana.ini agree on the INT port (here), and the provisioned
// INT overview and INT alert rules show what the simulated fabric sent
// (dashboard_test.go). The folder is docker/int; int is a predeclared
// identifier, hence the package name.
package intdemo

import (
	"net"
	"slices"
	"testing"

	"github.com/netlens/netlens/docker/demotest"
)

const simService = "int-sim"

// The compose file publishes the UDP port grafana.ini has the INT receiver
// listen on, and int-sim sends there once Grafana is up.
func TestComposePublishesTheINTPortTheSimulatorUses(t *testing.T) {
	keys := demotest.ImageKeys(t)
	addr, ok := keys["int_udp_listen_address"]
	if !ok {
		t.Fatal("docker/grafana.ini sets no int_udp_listen_address")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	services := demotest.ComposeServices(t)
	if !slices.Contains(services["grafana"].Ports, port+":"+port+"/udp") {
		t.Errorf("grafana does not publish %s/udp (ports %v)", port, services["grafana"].Ports)
	}
	s, ok := services[simService]
	if !ok {
		t.Fatalf("no %s service", simService)
	}
	if !slices.Contains(s.Command, "-target=grafana:"+port) {
		t.Errorf("%s does not send to grafana:%s: %v", simService, port, s.Command)
	}
	if s.DependsOn["grafana"].Condition != "service_healthy" {
		t.Errorf("%s must wait until Grafana (and so the collector) is up", simService)
	}
	// Report v1.0 names the switch in every header: the fabric's six
	// switches share the container's one address, and the collector still
	// tells their sequence numbers apart (v0.5 would need an address each).
	if !slices.Contains(s.Command, "-version=1.0") {
		t.Errorf("%s sends report v0.5 from one address: its switches' sequence numbers would mix", simService)
	}
}
