package demotest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/netlens/netlens/pkg/query"
)

// RuleFile is an alerting provisioning file as the tests read it.
type RuleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Folder   string `yaml:"folder"`
		Interval string `yaml:"interval"`
		Rules    []Rule `yaml:"rules"`
	} `yaml:"groups"`
}

// Rule is one provisioned alert rule.
type Rule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	DashboardUID string            `yaml:"dashboardUid"`
	PanelID      int               `yaml:"panelId"`
	Labels       map[string]string `yaml:"labels"`
	Data         []RuleStep        `yaml:"data"`
}

// RuleStep is one step (refId) of a provisioned alert rule's data.
type RuleStep struct {
	RefID             string `yaml:"refId"`
	DatasourceUID     string `yaml:"datasourceUid"`
	RelativeTimeRange struct {
		From int `yaml:"from"`
		To   int `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	Model map[string]any `yaml:"model"`
}

// ThresholdRule checks the shape every provisioned rule has: condition C
// over three steps, B reducing A with reducer, C firing when B is above
// one threshold. It returns step A and that threshold.
func ThresholdRule(t testing.TB, title, condition, reducer string, data []RuleStep) (a RuleStep, threshold float64) {
	t.Helper()
	steps := map[string]int{}
	for i, x := range data {
		steps[x.RefID] = i
	}
	if len(steps) != 3 || len(data) != 3 || condition != "C" {
		t.Fatalf("%s: condition %q over steps %v", title, condition, steps)
	}
	a, b, c := data[steps["A"]], data[steps["B"]], data[steps["C"]]
	if b.DatasourceUID != "__expr__" || b.Model["type"] != "reduce" || b.Model["expression"] != "A" || b.Model["reducer"] != reducer {
		t.Errorf("%s: B is %v, want the %s value of A", title, b.Model, reducer)
	}
	conds, _ := c.Model["conditions"].([]any)
	if c.DatasourceUID != "__expr__" || c.Model["type"] != "threshold" || c.Model["expression"] != "B" || len(conds) != 1 {
		t.Fatalf("%s: C is %v", title, c.Model)
	}
	ev, _ := conds[0].(map[string]any)["evaluator"].(map[string]any)
	params, _ := ev["params"].([]any)
	if ev["type"] != "gt" || len(params) != 1 {
		t.Fatalf("%s: C evaluates %v, want one \"gt\"", title, ev)
	}
	th, err := strconv.ParseFloat(fmt.Sprint(params[0]), 64)
	if err != nil {
		t.Fatalf("%s: threshold %v", title, params[0])
	}
	return a, th
}

// Query is the step's model as the data source reads a query.
func (s RuleStep) Query(t testing.TB) query.Query {
	t.Helper()
	js, err := json.Marshal(s.Model)
	if err != nil {
		t.Fatal(err)
	}
	var q query.Query
	if err := json.Unmarshal(js, &q); err != nil {
		t.Fatal(err)
	}
	return q
}
