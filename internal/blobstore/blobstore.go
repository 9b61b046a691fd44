// Package blobstore is Wharf's content-addressed blob store: immutable blobs
// keyed by their digest (sha256 or sha512), written once, deduplicated, and
// resumable upload sessions that hash while they are written.
//
// The contract is a few small interfaces composed into Store, so a consumer
// asks only for what it uses (the registry's pull path needs a Provider, the
// garbage collector a Walker and a Deleter). Which manifest references which
// blob is not the blob store's business: that is metadata in the state
// store (package registry).
//
// Implementations live in sub-packages (fs: the local filesystem; S3 next)
// and must pass the conformance suite in package blobstoretest.
package blobstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors returned by every implementation, wrapped with context; test with
// errors.Is.
var (
	// ErrNotFound: no blob with that digest.
	ErrNotFound = errors.New("blobstore: blob not found")
	// ErrUploadNotFound: no upload session with that id.
	ErrUploadNotFound = errors.New("blobstore: upload not found")
	// ErrUploadBusy: the upload session is open elsewhere in this process.
	ErrUploadBusy = errors.New("blobstore: upload in use")
	// ErrDigestMismatch: the content does not hash to the expected digest.
	ErrDigestMismatch = errors.New("blobstore: digest mismatch")
	// ErrSizeMismatch: the content is not of the expected size.
	ErrSizeMismatch = errors.New("blobstore: size mismatch")
	// ErrVersionMismatch: the blob was stored again since the version a
	// conditional delete names.
	ErrVersionMismatch = errors.New("blobstore: blob stored again")
)

// Info describes a stored blob.
type Info struct {
	Digest  Digest
	Size    int64
	ModTime time.Time // when the blob was last stored
	// Version identifies this stored copy: it changes whenever the blob
	// is stored again (a new copy, or an existing one refreshed). Opaque;
	// the filesystem uses the file's inode and modification time, S3 would
	// use the object's version id.
	Version string
}

// Blob is an open blob. Implementations return an *os.File where they can,
// so HTTP servers can send it with sendfile.
type Blob interface {
	io.ReadSeekCloser
}

// Stater tells whether a blob exists.
type Stater interface {
	// Stat returns the blob's Info or an error wrapping ErrNotFound.
	Stat(ctx context.Context, d Digest) (Info, error)
}

// Provider reads blobs.
type Provider interface {
	Stater
	// Open returns the blob's content and Info, or an error wrapping
	// ErrNotFound. The caller closes it.
	Open(ctx context.Context, d Digest) (Blob, Info, error)
}

// Ingester writes blobs.
type Ingester interface {
	// Put stores r as a blob whose content must hash to expected (and be
	// size bytes long when size >= 0). Storing a blob that exists still
	// verifies the content, keeps one copy, and refreshes its ModTime (the
	// garbage collector's grace period starts again).
	Put(ctx context.Context, expected Digest, size int64, r io.Reader) (Info, error)
	// NewUpload starts a resumable upload session with a fresh id
	// (NewUploadID). alg is the algorithm most likely asked for at Commit
	// (hashed while writing; another one costs a re-read at Commit).
	//
	// Starting a session costs no I/O: a session becomes durable — listed
	// by WalkUploads, resumable by ResumeUpload after a restart — at the
	// first Close that follows a Write. A session committed before that
	// (one request carrying the whole blob) is never durable as a session,
	// only as the blob. A caller that hands an id out before any byte (the
	// registry's POST) records the id itself and reopens it with
	// OpenUpload.
	NewUpload(ctx context.Context, alg Algorithm) (Upload, error)
	// OpenUpload opens session id (a ValidUploadID the caller recorded):
	// the durable session if there is one, as ResumeUpload does, or else an
	// empty one under that id hashing with alg. ErrUploadNotFound if id is
	// malformed.
	OpenUpload(ctx context.Context, id string, alg Algorithm) (Upload, error)
	// ResumeUpload reopens a durable session by id, also after a restart,
	// at the offset its last Close made durable. ErrUploadNotFound if there
	// is none (also for a session whose bytes were never made durable).
	ResumeUpload(ctx context.Context, id string) (Upload, error)
}

// Upload is an open upload session. It is used by one goroutine at a time;
// an implementation refuses (ErrUploadBusy) to open a session twice.
type Upload interface {
	// ID names the session for ResumeUpload.
	ID() string
	// Size is the number of bytes written so far: the offset the next
	// Write appends at.
	Size() int64
	// StartedAt is when the session was created.
	StartedAt() time.Time
	// Write appends p.
	Write(p []byte) (int, error)
	// ReadFrom appends everything from r.
	ReadFrom(r io.Reader) (int64, error)
	// Commit checks that the content hashes to expected, stores it as a
	// blob and ends the session (ErrDigestMismatch leaves the session open
	// and intact for the caller to Close or Cancel).
	Commit(ctx context.Context, expected Digest) (Info, error)
	// Close makes what was written durable, records the hash state and
	// releases the session, which stays resumable. Closing a session that
	// has no byte yet writes nothing (see NewUpload).
	Close() error
	// Cancel discards the session and its data.
	Cancel(ctx context.Context) error
}

// Deleter removes blobs. Only the garbage collector should call it: it
// knows, from the state store, that nothing references the blob.
type Deleter interface {
	// Delete removes a blob; ErrNotFound if absent.
	Delete(ctx context.Context, d Digest) error
	// DeleteVersion removes the blob only if its stored copy is still
	// version (Info.Version from Stat, Open or Walk): ErrVersionMismatch
	// if it was stored again since, ErrNotFound if absent. A collector
	// that decided on one copy and then stalled can so never remove a
	// newer copy a push stored meanwhile (S3: a conditional delete of the
	// object version).
	DeleteVersion(ctx context.Context, d Digest, version string) error
}

// UploadInfo describes a stored upload session.
type UploadInfo struct {
	ID        string
	Size      int64
	StartedAt time.Time
}

// Walker enumerates the store, for garbage collection and fsck.
type Walker interface {
	// Walk calls fn for every blob, in no particular order, until fn
	// returns an error (returned by Walk).
	Walk(ctx context.Context, fn func(Info) error) error
	// WalkUploads calls fn for every durable upload session.
	WalkUploads(ctx context.Context, fn func(UploadInfo) error) error
}

// Store is a complete blob store.
type Store interface {
	Provider
	Ingester
	Deleter
	Walker
}
