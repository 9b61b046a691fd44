package awsquery_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wharfhq/wharf/api/models"
	"github.com/wharfhq/wharf/internal/protocol"
	"github.com/wharfhq/wharf/internal/protocol/awsquery"
)

func ExampleCodec_DecodeInput() {
	m := models.MustLoad("iam")
	body := "Action=CreateUser&Version=2010-05-08&UserName=alice" +
		"&Tags.member.1.Key=team&Tags.member.1.Value=core&Tags.member.2.Key=env&Tags.member.2.Value=dev"
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tree, err := awsquery.Codec{}.DecodeInput(m, m.Operations["CreateUser"], r, []byte(body))
	fmt.Println(tree, err)
	// Output:
	// map[Tags:[map[Key:team Value:core] map[Key:env Value:dev]] UserName:alice] <nil>
}

func ExampleCodec_EncodeOutput() {
	m := models.MustLoad("iam")
	w := httptest.NewRecorder()
	awsquery.Codec{}.EncodeOutput(w, m, m.Operations["GetUser"], map[string]any{
		"User": map[string]any{
			"UserName": "alice", "UserId": "AIDAEXAMPLE", "Path": "/", "Arn": "arn:aws:iam::000000000000:user/alice",
			"CreateDate": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
	}, "8f0e2c1a")
	fmt.Println(w.Header().Get("Content-Type"))
	fmt.Println(w.Body.String())
	// Output:
	// text/xml
	// <GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetUserResult><User><Arn>arn:aws:iam::000000000000:user/alice</Arn><CreateDate>2026-01-02T03:04:05.000Z</CreateDate><Path>/</Path><UserId>AIDAEXAMPLE</UserId><UserName>alice</UserName></User></GetUserResult><ResponseMetadata><RequestId>8f0e2c1a</RequestId></ResponseMetadata></GetUserResponse>
}

func ExampleCodec_EncodeError() {
	m := models.MustLoad("iam")
	w := httptest.NewRecorder()
	awsquery.Codec{}.EncodeError(w, m, &protocol.APIError{
		Code:    "NoSuchEntity", // awsQuery codes are the model's error.code
		Message: "The user with name bob cannot be found.",
		Status:  404,
		Sender:  true,
		Shape:   m.Shapes["NoSuchEntityException"],
	}, "8f0e2c1a")
	fmt.Println(w.Code)
	fmt.Println(w.Body.String())
	// Output:
	// 404
	// <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error><RequestId>8f0e2c1a</RequestId></ErrorResponse>
}
