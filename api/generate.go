// Package api holds Wharf's wire contracts: the AWS service models
// (api/models) and the Go types generated from them (api/<service>api).
// Regenerate with `go generate ./api/`.
package api

//go:generate go run ../internal/tools/apigen -service sts -package stsapi -out stsapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service iam -package iamapi -out iamapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service cloudtrail -package cloudtrailapi -out cloudtrailapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service ecs -package ecsapi -out ecsapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service ecr -package ecrapi -out ecrapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service wharfagent -package wharfagentapi -out wharfagentapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service logs -package logsapi -out logsapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service cloudwatch -package cloudwatchapi -out cloudwatchapi/zz_generated.go
//go:generate go run ../internal/tools/apigen -service application-autoscaling -package applicationautoscalingapi -out applicationautoscalingapi/zz_generated.go
