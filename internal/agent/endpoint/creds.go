package endpoint

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// credentialsPath is the path prefix of the credentials endpoint.
const credentialsPath = "/v2/credentials/"

// CredentialsResponse is the document the ECS agent serves at
// /v2/credentials/<id> and the AWS SDKs read.
type CredentialsResponse struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"` // RFC 3339, UTC
}

// credentialsError is the ECS agent's error document for the credentials
// endpoint.
type credentialsError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes the ECS agent answers with.
const (
	codeNoID         = "NoIdInRequest"
	codeInvalidID    = "InvalidIdInRequest"
	codeUnauthorized = "AccessDenied"
)

func (s *Server) credentials(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		writeJSON(w, http.StatusBadRequest, credentialsError{codeNoID, "CredentialsV2Request: No ID in the request"})
		return
	}
	e, ok := s.reg.getCreds(id)
	if !ok {
		writeJSON(w, http.StatusBadRequest, credentialsError{codeInvalidID, "CredentialsV2Request: Credentials not found"})
		return
	}
	if e.token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(e.token)) != 1 {
		s.log.Warn("credentials request with a wrong authorization token", "remote", r.RemoteAddr)
		writeJSON(w, http.StatusUnauthorized, credentialsError{codeUnauthorized, "CredentialsV2Request: the Authorization header does not match AWS_CONTAINER_AUTHORIZATION_TOKEN"})
		return
	}
	c := e.creds
	writeJSON(w, http.StatusOK, CredentialsResponse{
		RoleArn: c.RoleARN, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		Token: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339),
	})
}
