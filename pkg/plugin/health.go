package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/status"
)

// healthReport is what CheckHealth finds, split by severity.
type healthReport struct {
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
	Notes    []string `json:"notes"`
}

// CheckHealth names every start-up problem, listener that failed to bind,
// and certificate that is invalid, expired or about to expire. Expiring
// certificates warn without failing: data still flows today.
func (d *Datasource) CheckHealth(_ context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	r := d.health(time.Now())
	res := &backend.CheckHealthResult{Status: backend.HealthStatusOk}
	details, _ := json.Marshal(r)
	res.JSONDetails = details
	var parts []string
	if len(r.Errors) > 0 {
		res.Status = backend.HealthStatusError
		parts = append(parts, r.Errors...)
	}
	if len(r.Warnings) > 0 {
		parts = append(parts, prefixAll("Warning: ", r.Warnings)...)
	}
	if len(parts) == 0 {
		parts = r.Notes
	}
	res.Message = strings.Join(parts, "; ")
	return res, nil
}

func prefixAll(p string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = p + x
	}
	return out
}

func (d *Datasource) health(now time.Time) healthReport {
	r := healthReport{Errors: []string{}, Warnings: []string{}, Notes: []string{}}
	for _, p := range d.srv.Problems {
		r.Errors = append(r.Errors, p.Error())
	}
	snap := d.srv.Board.Snapshot()
	for _, l := range snap.Listeners {
		if l.Error != "" {
			r.Errors = append(r.Errors, fmt.Sprintf("listener %s (%s %s) failed: %s", l.Name, l.Network, l.Address, l.Error))
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("%s listening on %s/%s", l.Name, l.Bound, l.Network))
		}
	}
	if d.srv.FTD != nil {
		for _, c := range d.srv.FTD.Certificates() {
			problem := c.Problem(now)
			if problem == "" {
				continue
			}
			msg := fmt.Sprintf("FTD %s certificate %s (%s) %s", c.Role, c.File, c.Subject, problem)
			if c.Err != nil || now.After(c.NotAfter) || now.Before(c.NotBefore) {
				r.Errors = append(r.Errors, msg)
			} else {
				r.Warnings = append(r.Warnings, msg)
			}
		}
	}
	if d.srv.Store != nil {
		st := d.srv.Store.Stats()
		r.Notes = append(r.Notes, fmt.Sprintf("store holds %d series", st.HeadSeries))
	}
	d.ipfixHealth(&r)
	d.xrHealth(&r, now)
	d.intHealth(&r)
	connected, withErrors := 0, 0
	for _, dev := range d.devices("") {
		if dev.State == status.StateConnected {
			connected++
		}
		if len(dev.Errors) > 0 {
			withErrors++
		}
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%d devices connected", connected))
	if withErrors > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d devices reported errors; see the data source's status page", withErrors))
	}
	return r
}
