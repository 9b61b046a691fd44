package registry

import (
	"encoding/json"
	"strings"

	"github.com/wharfhq/wharf/internal/blobstore"
	"github.com/wharfhq/wharf/internal/errs"
)

// Media types of manifests the registry understands.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeOCIEmpty       = "application/vnd.oci.empty.v1+json"
)

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Platform     json.RawMessage   `json:"platform,omitempty"`
	Data         []byte            `json:"data,omitempty"`
}

// manifest is the union of the fields the registry reads from image
// manifests and indexes of both OCI and Docker. The bytes are stored and
// served as received; this is only for validation and indexing.
type manifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *Descriptor       `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Manifests     []Descriptor      `json:"manifests"`
	Subject       *Descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parsed is a validated manifest.
type parsed struct {
	mediaType    string
	artifactType string // the manifest's, or its config's media type for OCI image manifests
	subject      *Descriptor
	annotations  map[string]string
	blobs        []Descriptor // config and distributable layers: must exist
	foreign      []Descriptor // non-distributable layers, or layers with urls: need not exist
	children     []Descriptor
}

// parseManifest validates body sent with Content-Type contentType.
func parseManifest(contentType string, body []byte) (*parsed, error) {
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, errs.New(ErrManifestInvalid, "manifest is not valid JSON: %v", err)
	}
	if m.SchemaVersion == nil || *m.SchemaVersion != 2 {
		return nil, errs.New(ErrManifestInvalid, "unsupported manifest schemaVersion (want 2)")
	}
	ct := contentType
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	mt := m.MediaType
	switch {
	case mt != "" && ct != "" && ct != mt:
		return nil, errs.New(ErrManifestInvalid, "manifest mediaType %q does not match Content-Type %q", mt, ct)
	case mt == "" && ct != "":
		mt = ct
	case mt == "" && ct == "":
		if m.Manifests != nil {
			mt = MediaTypeOCIIndex
		} else {
			mt = MediaTypeOCIManifest
		}
	}
	p := &parsed{mediaType: mt, artifactType: m.ArtifactType, subject: m.Subject, annotations: m.Annotations}
	check := func(d Descriptor, what string) error {
		if _, err := blobstore.Parse(d.Digest); err != nil {
			return errs.New(ErrManifestInvalid, "%s has an invalid digest %q", what, d.Digest)
		}
		if d.Size < 0 {
			return errs.New(ErrManifestInvalid, "%s has a negative size", what)
		}
		return nil
	}
	if m.Subject != nil {
		if err := check(*m.Subject, "subject"); err != nil {
			return nil, err
		}
	}
	switch mt {
	case MediaTypeOCIIndex, MediaTypeDockerList:
		if m.Config != nil || m.Layers != nil {
			return nil, errs.New(ErrManifestInvalid, "an index has no config or layers")
		}
		for _, d := range m.Manifests {
			if err := check(d, "manifests[]"); err != nil {
				return nil, err
			}
			p.children = append(p.children, d)
		}
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		if m.Config == nil {
			return nil, errs.New(ErrManifestInvalid, "an image manifest needs a config")
		}
		if m.Manifests != nil {
			return nil, errs.New(ErrManifestInvalid, "an image manifest has no manifests list")
		}
		if err := check(*m.Config, "config"); err != nil {
			return nil, err
		}
		p.blobs = append(p.blobs, *m.Config)
		if p.artifactType == "" && mt == MediaTypeOCIManifest {
			p.artifactType = m.Config.MediaType
		}
		for _, d := range m.Layers {
			if err := check(d, "layers[]"); err != nil {
				return nil, err
			}
			if len(d.URLs) > 0 || strings.Contains(d.MediaType, "nondistributable") || strings.Contains(d.MediaType, ".foreign.") {
				p.foreign = append(p.foreign, d)
				continue
			}
			p.blobs = append(p.blobs, d)
		}
	default:
		return nil, errs.New(ErrManifestInvalid, "unsupported manifest media type %q", mt)
	}
	return p, nil
}
