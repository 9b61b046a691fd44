package iam

import (
	"testing"
	"unicode/utf8"
)

// FuzzDocumentEncoding checks that any document survives the URL-encoding
// IAM answers with, and that decoding never panics on untrusted input.
func FuzzDocumentEncoding(f *testing.F) {
	f.Add(`{"Version":"2012-10-17"}`)
	f.Add("%7B%22a%22%3A1%7D")
	f.Add("%")
	f.Fuzz(func(t *testing.T, doc string) {
		_, _ = decodeDocument(doc)
		if !utf8.ValidString(doc) || len(doc) == 0 || doc[0] != '{' {
			return
		}
		got, err := decodeDocument(encodeDocument(doc))
		if err != nil || got != doc {
			t.Fatalf("round trip %q: %q, %v", doc, got, err)
		}
	})
}
