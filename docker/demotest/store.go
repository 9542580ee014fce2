package demotest

import (
	"context"
	"testing"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/store"
)

// StoreWith is a series store in a temporary folder holding samples, for
// asking alert rule queries against series written by hand; every sample
// must be taken. It is closed when the test ends.
func StoreWith(t testing.TB, samples []model.Sample) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	if res, err := st.Append(context.Background(), samples); err != nil || res.Rejected > 0 {
		t.Fatalf("append: %+v %v", res, err)
	}
	return st
}
