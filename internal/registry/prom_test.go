package registry_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/registry"
)

func TestPrometheusCollector(t *testing.T) {
	h := newHarness(t)
	expect := func(uploads, blobs, bytes string, repos ...string) {
		t.Helper()
		want := ``
		if len(repos) > 0 {
			want += `
# HELP wharf_registry_repositories Repositories, per account and region.
# TYPE wharf_registry_repositories gauge
wharf_registry_repositories{account="` + testAccount + `",region="` + testRegion + `"} ` + repos[0]
		}
		want += `
# HELP wharf_registry_blob_bytes Bytes of the blobs in the blob store, counted at most every 5 minutes.
# TYPE wharf_registry_blob_bytes gauge
wharf_registry_blob_bytes ` + bytes + `
# HELP wharf_registry_blobs Blobs in the blob store (layers, configs, manifests), counted at most every 5 minutes.
# TYPE wharf_registry_blobs gauge
wharf_registry_blobs ` + blobs + `
# HELP wharf_registry_uploads_in_progress Blob upload sessions started and not yet completed, cancelled or expired.
# TYPE wharf_registry_uploads_in_progress gauge
wharf_registry_uploads_in_progress ` + uploads + `
`
		// A new collector: the blob census of one is kept for 5 minutes.
		if err := testutil.CollectAndCompare(h.svc.Collector(), strings.NewReader(want)); err != nil {
			t.Fatal(err)
		}
	}
	expect("0", "0", "0")
	if _, err := h.svc.CreateRepository(h.ctx, registry.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	id1, err := h.svc.StartUpload(h.ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.StartUpload(h.ctx, "app"); err != nil {
		t.Fatal(err)
	}
	expect("2", "0", "0", "1")
	body := "a layer of eleven bytes"[:11]
	if _, err := h.svc.AppendUpload(h.ctx, "app", id1, 0, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CompleteUpload(h.ctx, "app", id1, blobstore.FromBytes([]byte(body)).String()); err != nil {
		t.Fatal(err)
	}
	expect("1", "1", "11", "1")
	if _, err := h.svc.CreateRepository(h.ctx, registry.Repository{Name: "app2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.DeleteRepository(h.ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateRepository(h.ctx, registry.Repository{Name: "app3"}); err != nil {
		t.Fatal(err)
	}
	expect("1", "1", "11", "2") // the deleted repository's open upload lives until it expires
}
