package blobstore

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrInvalidDigest: a digest string is malformed.
var ErrInvalidDigest = errors.New("blobstore: invalid digest")

// ErrUnsupportedAlgorithm: a well-formed digest of an algorithm Wharf does
// not store.
var ErrUnsupportedAlgorithm = errors.New("blobstore: unsupported digest algorithm")

// Algorithm is a digest algorithm of the OCI image spec.
type Algorithm string

// The algorithms Wharf stores.
const (
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// Canonical is the algorithm used when a client does not say.
const Canonical = SHA256

// Available reports whether a is one Wharf stores.
func (a Algorithm) Available() bool { return a == SHA256 || a == SHA512 }

// New returns a fresh hash of the algorithm (nil if unavailable).
func (a Algorithm) New() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	}
	return nil
}

func (a Algorithm) hexLen() int {
	switch a {
	case SHA256:
		return 64
	case SHA512:
		return 128
	}
	return 0
}

// FromBytes returns the digest of p with algorithm a.
func (a Algorithm) FromBytes(p []byte) Digest {
	h := a.New()
	h.Write(p)
	return NewDigest(a, h)
}

// Digest is "algorithm:hex", for example sha256:e3b0c442….
type Digest string

// NewDigest returns the digest a hash of algorithm a has computed.
func NewDigest(a Algorithm, h hash.Hash) Digest {
	return Digest(string(a) + ":" + hex.EncodeToString(h.Sum(nil)))
}

// FromBytes returns the canonical (sha256) digest of p.
func FromBytes(p []byte) Digest { return Canonical.FromBytes(p) }

// Parse validates s as a digest of an available algorithm: lowercase hex
// of the algorithm's length. Malformed digests wrap ErrInvalidDigest,
// well-formed ones of other algorithms ErrUnsupportedAlgorithm.
func Parse(s string) (Digest, error) {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || alg == "" || enc == "" {
		return "", fmt.Errorf("%w: %q", ErrInvalidDigest, s)
	}
	for _, c := range alg {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: %q", ErrInvalidDigest, s)
		}
	}
	for _, c := range enc {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '=' || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: %q", ErrInvalidDigest, s)
		}
	}
	a := Algorithm(alg)
	if !a.Available() {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	if len(enc) != a.hexLen() {
		return "", fmt.Errorf("%w: %s digest must have %d hex characters", ErrInvalidDigest, alg, a.hexLen())
	}
	for _, c := range enc {
		if !(c >= 'a' && c <= 'f' || c >= '0' && c <= '9') {
			return "", fmt.Errorf("%w: %q is not lowercase hex", ErrInvalidDigest, s)
		}
	}
	return Digest(s), nil
}

// Algorithm returns the part before the colon.
func (d Digest) Algorithm() Algorithm {
	a, _, _ := strings.Cut(string(d), ":")
	return Algorithm(a)
}

// Hex returns the part after the colon.
func (d Digest) Hex() string {
	_, h, _ := strings.Cut(string(d), ":")
	return h
}

func (d Digest) String() string { return string(d) }
