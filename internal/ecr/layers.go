package ecr

import (
	"bytes"
	"context"
	"errors"

	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Layer upload errors of the ECR API.
var (
	ErrUploadNotFound   = errors.New("ecr: upload not found")
	ErrInvalidLayerPart = errors.New("ecr: invalid layer part")
	ErrInvalidLayer     = errors.New("ecr: invalid layer")
)

func (s *Service) uploadError(ctx context.Context, err error, name, id string) error {
	switch {
	case errors.Is(err, registry.ErrBlobUploadUnknown):
		return errs.New(ErrUploadNotFound, "The upload with id '%s' is not found", id)
	case errors.Is(err, registry.ErrRangeInvalid), errors.Is(err, registry.ErrBlobUploadInvalid):
		return errs.New(ErrInvalidLayerPart, "%s", errs.Message(err))
	case errors.Is(err, registry.ErrDigestInvalid), errors.Is(err, registry.ErrSizeInvalid):
		return errs.New(ErrInvalidLayer, "%s", errs.Message(err))
	}
	return s.notFound(ctx, err, name)
}

// InitiateLayerUpload opens an upload session.
func (s *Service) InitiateLayerUpload(ctx context.Context, in *ecrapi.InitiateLayerUploadRequest) (*ecrapi.InitiateLayerUploadResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	id, err := s.reg.StartUpload(ctx, name)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	return &ecrapi.InitiateLayerUploadResponse{UploadId: ptr.To(id), PartSize: ptr.To(int64(10 << 20))}, nil
}

// UploadLayerPart appends a part; parts must arrive in order.
func (s *Service) UploadLayerPart(ctx context.Context, in *ecrapi.UploadLayerPartRequest) (*ecrapi.UploadLayerPartResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name, id := ptr.Value(in.RepositoryName), ptr.Value(in.UploadId)
	first, last := ptr.Value(in.PartFirstByte), ptr.Value(in.PartLastByte)
	if last-first+1 != int64(len(in.LayerPartBlob)) {
		return nil, errs.New(ErrInvalidLayerPart, "The part is %d bytes but partFirstByte %d and partLastByte %d say %d", len(in.LayerPartBlob), first, last, last-first+1)
	}
	size, err := s.reg.AppendUpload(ctx, name, id, first, bytes.NewReader(in.LayerPartBlob))
	if err != nil {
		return nil, s.uploadError(ctx, err, name, id)
	}
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.UploadLayerPartResponse{LastByteReceived: ptr.To(size - 1), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name), UploadId: ptr.To(id)}, nil
}

// CompleteLayerUpload verifies the layer's digest and stores it.
func (s *Service) CompleteLayerUpload(ctx context.Context, in *ecrapi.CompleteLayerUploadRequest) (*ecrapi.CompleteLayerUploadResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name, id := ptr.Value(in.RepositoryName), ptr.Value(in.UploadId)
	if len(in.LayerDigests) != 1 {
		return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'layerDigests': exactly one digest is supported")
	}
	d := in.LayerDigests[0]
	if _, err := s.reg.CompleteUpload(ctx, name, id, d); err != nil {
		return nil, s.uploadError(ctx, err, name, id)
	}
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.CompleteLayerUploadResponse{LayerDigest: ptr.To(d), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name), UploadId: ptr.To(id)}, nil
}
