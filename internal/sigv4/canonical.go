package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// scratch holds the buffers one verification needs; it is pooled so the hot
// path does not allocate them.
type scratch struct {
	canon   []byte      // canonical request
	sts     []byte      // string to sign
	enc     []byte      // encoded query names and values
	spans   []querySpan // one per query parameter, into enc
	pairs   []queryPair // decoded query parameters
	name    []byte      // a header name in canonical MIME form
	payload []byte      // the payload hash line of the canonical request

	h    hash.Hash // SHA-256, for the HMAC
	pad  [64]byte
	mac  [sha256.Size]byte
	want [sha256.Size]byte
}

// A scratch whose buffers grew past this is dropped instead of pooled.
const maxPooledScratch = 64 << 10

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		canon:   make([]byte, 0, 1024),
		sts:     make([]byte, 0, 256),
		name:    make([]byte, 0, 64),
		payload: make([]byte, 0, 64),
		h:       sha256.New(),
	}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.canon) > maxPooledScratch || cap(s.enc) > maxPooledScratch || cap(s.pairs) > 1024 {
		return
	}
	clear(s.pairs) // drop references to request strings
	s.pairs = s.pairs[:0]
	s.spans = s.spans[:0]
	scratchPool.Put(s)
}

type queryPair struct{ key, value string }

type querySpan struct{ start, mid, end int }

// parseQuery appends the decoded parameters of a raw query string to dst, in
// order, keeping repeated and empty-valued ones. A name or value that is not
// valid percent-encoding is kept as sent.
func parseQuery(dst []queryPair, raw string) []queryPair {
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		dst = append(dst, queryPair{unescapeQuery(k), unescapeQuery(v)})
	}
	return dst
}

func unescapeQuery(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// unreserved marks the RFC 3986 unreserved characters, the only ones SigV4
// leaves unencoded.
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['.'], t['_'], t['~'] = true, true, true, true
	return t
}()

const upperHex = "0123456789ABCDEF"

// appendURIEncode appends s with every byte outside the unreserved set
// percent-encoded (uppercase hex); '/' is kept when keepSlash is set.
func appendURIEncode(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] || (keepSlash && c == '/') {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// appendCanonicalURI appends the canonical URI of r the way aws-sdk-go-v2's
// signer does for every service but S3: the escaped path as sent, encoded
// once more.
func appendCanonicalURI(dst []byte, r *http.Request) []byte {
	var p string
	if r.URL.Opaque != "" {
		// Mirror of the Go signer's handling of opaque URLs.
		p = r.URL.Opaque
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		p = strings.TrimPrefix(p, "//")
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[i:]
		} else {
			p = ""
		}
	} else {
		p = r.URL.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	return appendURIEncode(dst, p, true)
}

// appendCanonicalQuery appends the canonical query string of pairs: each
// name and value encoded, sorted by encoded name then encoded value. For
// presigned requests X-Amz-Signature is left out.
func (s *scratch) appendCanonicalQuery(dst []byte, pairs []queryPair, presigned bool) []byte {
	if len(pairs) == 0 {
		return dst
	}
	s.enc, s.spans = s.enc[:0], s.spans[:0]
	for _, p := range pairs {
		if presigned && p.key == qSignature {
			continue
		}
		start := len(s.enc)
		s.enc = appendURIEncode(s.enc, p.key, false)
		mid := len(s.enc)
		s.enc = appendURIEncode(s.enc, p.value, false)
		s.spans = append(s.spans, querySpan{start, mid, len(s.enc)})
	}
	enc := s.enc
	slices.SortFunc(s.spans, func(a, b querySpan) int {
		if c := bytes.Compare(enc[a.start:a.mid], enc[b.start:b.mid]); c != 0 {
			return c
		}
		return bytes.Compare(enc[a.mid:a.end], enc[b.mid:b.end])
	})
	for i, sp := range s.spans {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, enc[sp.start:sp.mid]...)
		dst = append(dst, '=')
		dst = append(dst, enc[sp.mid:sp.end]...)
	}
	return dst
}

// appendCanonicalHeaders appends "name:value\n" for each name of the
// semicolon-separated signedHeaders, in the order given.
func (s *scratch) appendCanonicalHeaders(dst []byte, r *http.Request, signedHeaders string) []byte {
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = s.appendHeaderValue(dst, r, name)
		dst = append(dst, '\n')
	}
	return dst
}

func (s *scratch) appendHeaderValue(dst []byte, r *http.Request, name string) []byte {
	if strings.EqualFold(name, "host") {
		host := r.Host
		if host == "" {
			host = r.Header.Get("Host")
		}
		if host == "" {
			host = r.URL.Host
		}
		return appendTrimmedValue(dst, host)
	}
	s.name = appendCanonicalHeaderKey(s.name[:0], name)
	vals := r.Header[string(s.name)]
	if len(vals) == 0 {
		switch {
		case strings.EqualFold(name, "content-length") && r.ContentLength > 0:
			return strconv.AppendInt(dst, r.ContentLength, 10)
		case strings.EqualFold(name, "transfer-encoding"):
			vals = r.TransferEncoding
		}
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmedValue(dst, v)
	}
	return dst
}

// appendTrimmedValue appends v without leading and trailing white space and
// with each run of spaces inside it collapsed to one.
func appendTrimmedValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(dst, v...)
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaderKey appends name in the form net/http keys its header
// map with (textproto.CanonicalMIMEHeaderKey), without allocating. A name with
// a byte that is not a token character is appended unchanged, as textproto
// leaves it.
func appendCanonicalHeaderKey(dst []byte, name string) []byte {
	start := len(dst)
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenChar[c] {
			return append(dst[:start], name...)
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// tokenChar marks the bytes that may appear in an HTTP header name (RFC 7230
// tchar).
var tokenChar = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// hmacSHA256 sets s.mac to HMAC-SHA256(key, msg) for a 32-byte key, reusing
// s.h so nothing is allocated.
func (s *scratch) hmacSHA256(key *[32]byte, msg []byte) {
	const ipad, opad = 0x36, 0x5c
	for i := range s.pad {
		s.pad[i] = ipad
	}
	for i, b := range key {
		s.pad[i] ^= b
	}
	s.h.Reset()
	s.h.Write(s.pad[:])
	s.h.Write(msg)
	inner := s.h.Sum(s.mac[:0])
	for i := range s.pad {
		s.pad[i] ^= ipad ^ opad
	}
	s.h.Reset()
	s.h.Write(s.pad[:])
	s.h.Write(inner)
	s.h.Sum(s.mac[:0])
	clear(s.pad[:]) // it held the signing key; the scratch is pooled
}

// appendHexSHA256 appends the lowercase hex SHA-256 of b.
func appendHexSHA256(dst, b []byte) []byte {
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:])
}
