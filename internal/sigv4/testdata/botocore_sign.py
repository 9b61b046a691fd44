"""Sign test requests with botocore's SigV4 signers and print them as JSON.

Used by TestBotocoreSignedRequests: argv[1] is the endpoint base URL. The
signing time is fixed at 2026-01-01T00:10:00Z.
"""
import base64
import datetime
import json
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

FIXED = datetime.datetime(2026, 1, 1, 0, 10, 0, tzinfo=datetime.timezone.utc)
botocore.auth.get_current_datetime = lambda *a, **k: FIXED.replace(tzinfo=None)

base = sys.argv[1]
static = Credentials("AKIAWHARFEXAMPLE0001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
temp = Credentials("ASIAWHARFEXAMPLE0002", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
                   "IQoJb3JpZ2luX2VjEXAMPLE//+token/with=odd+chars==")


def header(name, creds, service, method, url, headers, body=b""):
    req = AWSRequest(method=method, url=url, headers=headers, data=body)
    botocore.auth.SigV4Auth(creds, service, "us-east-1").add_auth(req)
    return emit(name, service, req, body)


def presigned(name, creds, service, method, url, headers, body=b""):
    req = AWSRequest(method=method, url=url, headers=headers, data=body)
    botocore.auth.SigV4QueryAuth(creds, service, "us-east-1", expires=900).add_auth(req)
    return emit(name, service, req, body)


def emit(name, service, req, body):
    return {
        "name": name,
        "service": service,
        "method": req.method,
        "url": req.url,
        "headers": {k: v for k, v in req.headers.items()},
        "body": base64.b64encode(body).decode(),
    }


cases = [
    header("awsJson1_1", static, "ecs", "POST", base + "/",
           {"Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"},
           b'{"maxResults": 10}'),
    header("awsJson1_0 query-compatible", temp, "monitoring", "POST", base + "/",
           {"Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics",
            "x-amzn-query-mode": "true"},
           b'{"Namespace": "AWS/ECS"}'),
    header("awsQuery form", static, "sts", "POST", base + "/",
           {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
           b"Action=GetCallerIdentity&Version=2011-06-15"),
    header("GET with encoded query", static, "iam", "GET",
           base + "/?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fdivision%20abc%2F&Marker=x~y%2Bz&Name=%E2%82%AC&Tag=b&Tag=a",
           {}),
    header("rpcv2Cbor path", static, "monitoring", "POST",
           base + "/service/GraniteServiceVersion20100801/operation/PutMetricData",
           {"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor"},
           bytes([0xBF, 0x61, 0x61, 0x01, 0xFF])),
    header("messy header", static, "ssm", "POST", base + "/",
           {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter",
            "X-Spaced": "  a   b  "},
           b'{"Name": "/app/db"}'),
    presigned("presigned GetCallerIdentity", static, "sts", "GET",
              base + "/?Action=GetCallerIdentity&Version=2011-06-15", {"x-k8s-aws-id": "my-cluster"}),
    presigned("presigned with token", temp, "sts", "GET",
              base + "/?Action=GetCallerIdentity&Version=2011-06-15", {}),
]
json.dump(cases, sys.stdout)
