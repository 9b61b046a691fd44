package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	blobfs "github.com/wharfhq/wharf/internal/blobstore/fs"
	"github.com/wharfhq/wharf/internal/iam"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/store/sqlite"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// FsckRegistry checks the registry kept in cfg.DataDir for the account's
// cfg.Region: every manifest stored and hashing to its digest, every blob
// a manifest references present (and, with verify, re-hashed). It may run
// beside a live server.
func FsckRegistry(ctx context.Context, cfg Config, verify bool) (registry.FsckReport, error) {
	if err := cfg.Validate(); err != nil {
		return registry.FsckReport{}, err
	}
	db := filepath.Join(cfg.DataDir, "wharf.db")
	if _, err := os.Stat(db); err != nil {
		return registry.FsckReport{}, fmt.Errorf("no Wharf state in %s: %w", cfg.DataDir, err)
	}
	st, err := sqlite.Open(db)
	if err != nil {
		return registry.FsckReport{}, err
	}
	defer st.Close()
	acct, _, err := iam.Bootstrap(ctx, st, iam.BootstrapOptions{})
	if err != nil {
		return registry.FsckReport{}, err
	}
	blobs, err := blobfs.Open(filepath.Join(cfg.DataDir, "blobs"), blobfs.Options{Now: cfg.Now})
	if err != nil {
		return registry.FsckReport{}, err
	}
	reg := registry.New(registry.Options{Store: st, Blobs: blobs, Now: cfg.Now, Logger: cfg.Logger})
	return reg.Fsck(tenancy.With(ctx, acct.ID, cfg.Region), verify)
}
