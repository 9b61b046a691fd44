package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/wharfhq/wharf/api/ecrapi"
	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/registry"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// page returns the items of a list from an offset token, and the next token.
func page[T any](items []T, token *string, max *int32, def int) ([]T, *string, error) {
	start := 0
	if token != nil {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil {
			return nil, nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'nextToken'")
		}
		if start, err = strconv.Atoi(string(b)); err != nil || start < 0 || start > len(items) {
			return nil, nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'nextToken'")
		}
	}
	n := int(ptr.Value(max))
	if n <= 0 {
		n = def
	}
	end := min(start+n, len(items))
	var next *string
	if end < len(items) {
		next = ptr.To(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
	}
	return items[start:end], next, nil
}

func tagStatusOK(status string, tagged bool) bool {
	switch status {
	case "TAGGED":
		return tagged
	case "UNTAGGED":
		return !tagged
	}
	return true
}

// ListImages lists image ids: one per tag, and one for each untagged image.
func (s *Service) ListImages(ctx context.Context, in *ecrapi.ListImagesRequest) (*ecrapi.ListImagesResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	imgs, err := s.reg.Images(ctx, name)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	status := ""
	if in.Filter != nil {
		status = ptr.Value(in.Filter.TagStatus)
	}
	ids := []ecrapi.ImageIdentifier{}
	for _, im := range imgs {
		if len(im.Tags) == 0 {
			if tagStatusOK(status, false) {
				ids = append(ids, ecrapi.ImageIdentifier{ImageDigest: ptr.To(im.Digest)})
			}
			continue
		}
		if !tagStatusOK(status, true) {
			continue
		}
		for _, t := range im.Tags {
			ids = append(ids, ecrapi.ImageIdentifier{ImageDigest: ptr.To(im.Digest), ImageTag: ptr.To(t)})
		}
	}
	ids, next, err := page(ids, in.NextToken, in.MaxResults, 1000)
	if err != nil {
		return nil, err
	}
	return &ecrapi.ListImagesResponse{ImageIds: ids, NextToken: next}, nil
}

func (s *Service) detail(ctx context.Context, name string, im registry.Image) ecrapi.ImageDetail {
	acct, _ := tenancy.Account(ctx)
	d := ecrapi.ImageDetail{
		ImageDigest:            ptr.To(im.Digest),
		ImageManifestMediaType: ptr.To(im.MediaType),
		ImagePushedAt:          ptr.To(im.PushedAt),
		ImageSizeInBytes:       ptr.To(im.Size),
		ImageTags:              im.Tags,
		RegistryId:             ptr.To(acct),
		RepositoryName:         ptr.To(name),
		ImageStatus:            ptr.To("ACTIVE"),
	}
	if im.ArtifactType != "" {
		d.ArtifactMediaType = ptr.To(im.ArtifactType)
	}
	if im.Subject != "" {
		d.SubjectManifestDigest = ptr.To(im.Subject)
	}
	if !im.LastPulledAt.IsZero() {
		d.LastRecordedPullTime = ptr.To(im.LastPulledAt)
	}
	return d
}

// DescribeImages describes the images of a repository, or the named ones.
func (s *Service) DescribeImages(ctx context.Context, in *ecrapi.DescribeImagesRequest) (*ecrapi.DescribeImagesResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	imgs, err := s.reg.Images(ctx, name)
	if err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	out := &ecrapi.DescribeImagesResponse{ImageDetails: []ecrapi.ImageDetail{}}
	if len(in.ImageIds) > 0 {
		for _, id := range in.ImageIds {
			im, ok := findImage(imgs, id)
			if !ok {
				return nil, errs.New(registry.ErrImageNotFound, "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
					ptr.Value(id.ImageDigest), ptr.Value(id.ImageTag), name, ptr.Value(in.RegistryId))
			}
			out.ImageDetails = append(out.ImageDetails, s.detail(ctx, name, im))
		}
		return out, nil
	}
	status := ""
	if in.Filter != nil {
		status = ptr.Value(in.Filter.TagStatus)
	}
	var sel []registry.Image
	for _, im := range imgs {
		if tagStatusOK(status, len(im.Tags) > 0) {
			sel = append(sel, im)
		}
	}
	sel, out.NextToken, err = page(sel, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	for _, im := range sel {
		out.ImageDetails = append(out.ImageDetails, s.detail(ctx, name, im))
	}
	return out, nil
}

func findImage(imgs []registry.Image, id ecrapi.ImageIdentifier) (registry.Image, bool) {
	for _, im := range imgs {
		if id.ImageDigest != nil && *id.ImageDigest != im.Digest {
			continue
		}
		if id.ImageTag == nil {
			if id.ImageDigest != nil {
				return im, true
			}
			continue
		}
		for _, t := range im.Tags {
			if t == *id.ImageTag {
				return im, true
			}
		}
	}
	return registry.Image{}, false
}

func imageRef(id ecrapi.ImageIdentifier) string {
	if id.ImageDigest != nil {
		return *id.ImageDigest
	}
	return ptr.Value(id.ImageTag)
}

// BatchGetImage returns manifests; each one returned counts as a pull
// (lastRecordedPullTime, see registry.RecordPull).
func (s *Service) BatchGetImage(ctx context.Context, in *ecrapi.BatchGetImageRequest) (*ecrapi.BatchGetImageResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	if _, err := s.reg.GetRepository(ctx, name); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	out := &ecrapi.BatchGetImageResponse{Images: []ecrapi.Image{}, Failures: []ecrapi.ImageFailure{}}
	for _, id := range in.ImageIds {
		id := id
		if id.ImageDigest == nil && id.ImageTag == nil {
			out.Failures = append(out.Failures, ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr.To("MissingDigestAndTag"), FailureReason: ptr.To("Invalid request parameters: both tag and digest cannot be null")})
			continue
		}
		im, body, err := s.reg.Manifest(ctx, name, imageRef(id))
		if errors.Is(err, registry.ErrImageNotFound) || errors.Is(err, registry.ErrDigestInvalid) || errors.Is(err, registry.ErrTagInvalid) {
			out.Failures = append(out.Failures, ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr.To("ImageNotFound"), FailureReason: ptr.To("Requested image not found")})
			continue
		}
		if err != nil {
			return nil, err
		}
		if id.ImageTag != nil && id.ImageDigest != nil {
			// Both given: the tag must point at the digest.
			if t, _, err := s.reg.Manifest(ctx, name, *id.ImageTag); err != nil || t.Digest != *id.ImageDigest {
				out.Failures = append(out.Failures, ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr.To("ImageNotFound"), FailureReason: ptr.To("Requested image not found")})
				continue
			}
		}
		if len(in.AcceptedMediaTypes) > 0 && !contains(in.AcceptedMediaTypes, im.MediaType) {
			out.Failures = append(out.Failures, ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr.To("UnsupportedImageType"), FailureReason: ptr.To("The image manifest media type is not in the accepted media types")})
			continue
		}
		// Returning a manifest is a pull, as on ECR.
		s.reg.RecordPull(ctx, name, im)
		rid := ecrapi.ImageIdentifier{ImageDigest: ptr.To(im.Digest), ImageTag: id.ImageTag}
		out.Images = append(out.Images, ecrapi.Image{ImageId: &rid, ImageManifest: ptr.To(string(body)),
			ImageManifestMediaType: ptr.To(im.MediaType), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// BatchDeleteImage deletes images by digest or tag.
func (s *Service) BatchDeleteImage(ctx context.Context, in *ecrapi.BatchDeleteImageRequest) (*ecrapi.BatchDeleteImageResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	if _, err := s.reg.GetRepository(ctx, name); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	out := &ecrapi.BatchDeleteImageResponse{ImageIds: []ecrapi.ImageIdentifier{}, Failures: []ecrapi.ImageFailure{}}
	for _, id := range in.ImageIds {
		id := id
		dg, err := s.reg.DeleteImage(ctx, name, ptr.Value(id.ImageDigest), ptr.Value(id.ImageTag))
		if errors.Is(err, registry.ErrImageNotFound) || errors.Is(err, registry.ErrDigestInvalid) {
			out.Failures = append(out.Failures, ecrapi.ImageFailure{ImageId: &id, FailureCode: ptr.To("ImageNotFound"), FailureReason: ptr.To("Requested image not found")})
			continue
		}
		if err != nil {
			return nil, err
		}
		out.ImageIds = append(out.ImageIds, ecrapi.ImageIdentifier{ImageDigest: ptr.To(dg), ImageTag: id.ImageTag})
	}
	return out, nil
}

// PutImage stores a manifest whose blobs the repository holds.
func (s *Service) PutImage(ctx context.Context, in *ecrapi.PutImageRequest) (*ecrapi.PutImageResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	body := []byte(ptr.Value(in.ImageManifest))
	ref := ptr.Value(in.ImageTag)
	var extra []string
	if in.ImageDigest != nil {
		if ref != "" {
			extra = []string{ref}
		}
		ref = *in.ImageDigest
	}
	if ref == "" {
		// An untagged push: address the manifest by its own digest.
		ref = string(blobstore.FromBytes(body))
	}
	if tag := ptr.Value(in.ImageTag); tag != "" {
		// ECR refuses to store what is already there under that tag.
		if cur, _, err := s.reg.Manifest(ctx, name, tag); err == nil {
			want := ptr.Value(in.ImageDigest)
			if want == "" {
				want = string(blobstore.Digest(cur.Digest).Algorithm().FromBytes(body))
			}
			if cur.Digest == want {
				return nil, errs.New(ErrImageAlreadyExists, "Image with digest '%s' and tag '%s' already exists in the repository with name '%s'", cur.Digest, tag, name)
			}
		}
	}
	d, _, err := s.reg.PutManifest(ctx, name, ref, ptr.Value(in.ImageManifestMediaType), body, extra)
	switch {
	case errors.Is(err, registry.ErrDigestInvalid) && in.ImageDigest != nil:
		return nil, errs.New(ErrImageDigestMismatch, "The image digest %s does not match the manifest", *in.ImageDigest)
	case err != nil:
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	id := ecrapi.ImageIdentifier{ImageDigest: ptr.To(string(d)), ImageTag: in.ImageTag}
	mt := ptr.Value(in.ImageManifestMediaType)
	if mt == "" {
		im, _, err := s.reg.Manifest(ctx, name, string(d))
		if err == nil {
			mt = im.MediaType
		}
	}
	return &ecrapi.PutImageResponse{Image: &ecrapi.Image{ImageId: &id, ImageManifest: in.ImageManifest,
		ImageManifestMediaType: ptr.To(mt), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)}}, nil
}

// BatchCheckLayerAvailability reports which layers a repository holds.
func (s *Service) BatchCheckLayerAvailability(ctx context.Context, in *ecrapi.BatchCheckLayerAvailabilityRequest) (*ecrapi.BatchCheckLayerAvailabilityResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name := ptr.Value(in.RepositoryName)
	if _, err := s.reg.GetRepository(ctx, name); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	out := &ecrapi.BatchCheckLayerAvailabilityResponse{Layers: []ecrapi.Layer{}, Failures: []ecrapi.LayerFailure{}}
	for _, d := range in.LayerDigests {
		size, err := s.reg.LayerSize(ctx, name, d)
		switch {
		case errors.Is(err, registry.ErrDigestInvalid):
			out.Failures = append(out.Failures, ecrapi.LayerFailure{LayerDigest: ptr.To(d), FailureCode: ptr.To("InvalidLayerDigest"), FailureReason: ptr.To("Invalid layer digest")})
		case errors.Is(err, registry.ErrBlobUnknown):
			out.Failures = append(out.Failures, ecrapi.LayerFailure{LayerDigest: ptr.To(d), FailureCode: ptr.To("MissingLayerDigest"), FailureReason: ptr.To("Missing layer digest")})
		case err != nil:
			return nil, err
		default:
			out.Layers = append(out.Layers, ecrapi.Layer{LayerDigest: ptr.To(d), LayerAvailability: ptr.To("AVAILABLE"), LayerSize: ptr.To(size)})
		}
	}
	return out, nil
}

// GetDownloadUrlForLayer returns the registry URL of a layer (clients must
// present their token there, unlike ECR's presigned S3 URLs).
func (s *Service) GetDownloadUrlForLayer(ctx context.Context, in *ecrapi.GetDownloadUrlForLayerRequest) (*ecrapi.GetDownloadUrlForLayerResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name, d := ptr.Value(in.RepositoryName), ptr.Value(in.LayerDigest)
	if _, err := s.reg.LayerSize(ctx, name, d); err != nil {
		if errors.Is(err, registry.ErrBlobUnknown) {
			return nil, errs.New(ErrLayersNotFound, "The image layer %s does not exist in the repository %s", d, name)
		}
		if errors.Is(err, registry.ErrDigestInvalid) {
			return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'layerDigest'")
		}
		return nil, s.notFound(ctx, err, name)
	}
	return &ecrapi.GetDownloadUrlForLayerResponse{DownloadUrl: ptr.To(s.scheme + "://" + s.host + "/v2/" + name + "/blobs/" + d), LayerDigest: ptr.To(d)}, nil
}

// PutImageTagMutability sets MUTABLE or IMMUTABLE.
func (s *Service) PutImageTagMutability(ctx context.Context, in *ecrapi.PutImageTagMutabilityRequest) (*ecrapi.PutImageTagMutabilityResponse, error) {
	if err := checkRegistryID(ctx, in.RegistryId); err != nil {
		return nil, err
	}
	name, m := ptr.Value(in.RepositoryName), ptr.Value(in.ImageTagMutability)
	if m != registry.Mutable && m != registry.Immutable {
		return nil, errs.New(ErrInvalidParameter, "Invalid parameter at 'imageTagMutability': only MUTABLE and IMMUTABLE are supported")
	}
	if err := s.reg.SetTagMutability(ctx, name, m); err != nil {
		return nil, s.notFound(ctx, err, name)
	}
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.PutImageTagMutabilityResponse{ImageTagMutability: ptr.To(m), RegistryId: ptr.To(acct), RepositoryName: ptr.To(name)}, nil
}

// DescribeRegistry describes the caller's registry.
func (s *Service) DescribeRegistry(ctx context.Context, _ *ecrapi.DescribeRegistryRequest) (*ecrapi.DescribeRegistryResponse, error) {
	acct, _ := tenancy.Account(ctx)
	return &ecrapi.DescribeRegistryResponse{RegistryId: ptr.To(acct), ReplicationConfiguration: &ecrapi.ReplicationConfiguration{Rules: []ecrapi.ReplicationRule{}}}, nil
}
