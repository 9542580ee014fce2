package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/ingest/ftd"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/sim/certs"
)

// withFTDCert gives the server an FTD receiver whose collector certificate
// is valid from notBefore to notAfter, under a CA valid for a year.
func withFTDCert(t *testing.T, notBefore, notAfter time.Time) *Datasource {
	t.Helper()
	srv := testServer(t)
	pki, err := certs.NewPKI("health test CA", 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := pki.Issue(certs.Server, "collector", []string{"localhost"}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"server.crt": crt, "server.key": key, "ca.crt": pki.CAPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := srv.Config.FTD
	cfg.ListenAddress = "127.0.0.1:0"
	cfg.CertFile, cfg.KeyFile, cfg.CAFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt")
	r, err := ftd.New(cfg, nil, srv.Board, pipeline.New(srv.Store, srv.Hub, srv.Board), log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv.FTD = r
	return instance(t, srv, `{}`)
}

func health(t *testing.T, ds *Datasource) *backend.CheckHealthResult {
	t.Helper()
	res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestHealthWarnsOfACertificateExpiringWithin30Days(t *testing.T) {
	now := time.Now()
	res := health(t, withFTDCert(t, now.Add(-time.Hour), now.Add(10*24*time.Hour)))
	if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "Warning: FTD server certificate") || !strings.Contains(res.Message, "expires in") {
		t.Fatalf("health = %v %q", res.Status, res.Message)
	}
}

func TestHealthFailsOnAnExpiredCertificate(t *testing.T) {
	now := time.Now()
	res := health(t, withFTDCert(t, now.Add(-48*time.Hour), now.Add(-time.Hour)))
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "expired on") {
		t.Fatalf("health = %v %q", res.Status, res.Message)
	}
}

func TestHealthIsQuietAboutAGoodCertificate(t *testing.T) {
	now := time.Now()
	res := health(t, withFTDCert(t, now.Add(-time.Hour), now.Add(200*24*time.Hour)))
	if res.Status != backend.HealthStatusOk || strings.Contains(res.Message, "certificate") {
		t.Fatalf("health = %v %q", res.Status, res.Message)
	}
}
