package sigv4_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/wharfhq/wharf/internal/sigv4"
)

func ExampleVerifier_Verify() {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := &sigv4.Verifier{
		Source: sigv4.StaticSource{
			"AKIAEXAMPLE": {AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret", Subject: "user/alice"},
		},
		Now: func() time.Time { return at },
	}

	// A client signs a request...
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, _ := http.NewRequest(http.MethodPost, "http://localhost:4566/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds := aws.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret"}
	_ = v4.NewSigner().SignHTTP(context.Background(), creds, req, hexSHA256(body), "sts", "us-east-1", at)

	// ...and the server, having read the body, verifies it.
	var wire bytes.Buffer
	_ = req.Write(&wire)
	received, _ := http.ReadRequest(bufio.NewReader(&wire))
	res, err := v.Verify(context.Background(), received, body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Credential.Subject, res.Service, res.Region)

	// A tampered body is refused, with a Kind for the edge to name.
	_, err = v.Verify(context.Background(), received, []byte("Action=DeleteUser"))
	kind, _ := sigv4.KindOf(err)
	fmt.Println(kind)
	// Output:
	// user/alice sts us-east-1
	// InvalidSignature
}
