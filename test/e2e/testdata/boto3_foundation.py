"""Drives a running Wharf with Debian's python3-boto3.

Usage: boto3_foundation.py ENDPOINT  (credentials from the shared files)
"""
import json
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore
import botocore.config
import botocore.exceptions

endpoint = sys.argv[1]
session = boto3.session.Session()


def client(name, **kw):
    return session.client(name, endpoint_url=endpoint, region_name="us-east-1", **kw)


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"want {code}, got {got}: {e}"
        return e
    raise AssertionError(f"want {code}, call succeeded")


sts = client("sts")
ident = sts.get_caller_identity()
account = ident["Account"]
assert ident["Arn"] == f"arn:aws:iam::{account}:root", ident

iam = client("iam")
iam.create_user(UserName="py-user", Tags=[{"Key": "team", "Value": "platform"}])
key = iam.create_access_key(UserName="py-user")["AccessKey"]
users = iam.list_users()["Users"]
assert any(u["UserName"] == "py-user" for u in users), users

user_session = boto3.session.Session(
    aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
)
user_iam = user_session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
expect_error("AccessDenied", user_iam.list_users)

policy = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}],
}
arn = iam.create_policy(PolicyName="lister", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
iam.attach_user_policy(UserName="py-user", PolicyArn=arn)
assert user_iam.list_users()["Users"], "list_users after attach"

# Role assumption with a trust policy.
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
    ],
}
role = iam.create_role(RoleName="py-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="py")["Credentials"]
role_sts = boto3.session.Session(
    aws_access_key_id=creds["AccessKeyId"],
    aws_secret_access_key=creds["SecretAccessKey"],
    aws_session_token=creds["SessionToken"],
).client("sts", endpoint_url=endpoint, region_name="us-east-1")
who = role_sts.get_caller_identity()
assert who["Arn"] == f"arn:aws:sts::{account}:assumed-role/py-role/py", who

# Errors the AWS way.
expect_error("NoSuchEntity", iam.get_user, UserName="nobody")
expect_error("EntityAlreadyExists", iam.create_user, UserName="py-user")
bad = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="nope")
expect_error("SignatureDoesNotMatch", bad.client("sts", endpoint_url=endpoint, region_name="us-east-1").get_caller_identity)
# botocore checks lengths itself; switch that off to see the server's check.
raw_iam = client("iam", config=botocore.config.Config(parameter_validation=False))
err = expect_error("ValidationError", raw_iam.create_user, UserName="")
assert "Member must have length greater than or equal to 1" in str(err), err

# Presigned URLs (as `aws eks get-token` makes them): fresh ones work,
# expired ones are refused with RequestExpired.
def fetch(url):
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
status, body = fetch(url)
assert status == 200 and account in body, (status, body)
url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=1, HttpMethod="GET")
time.sleep(2.5)
status, body = fetch(url)
assert status == 400 and "<Code>RequestExpired</Code>" in body, (status, body)

# Unsigned requests.
unsigned = session.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                          config=botocore.config.Config(signature_version=botocore.UNSIGNED))
expect_error("MissingAuthenticationToken", unsigned.get_caller_identity)

# CloudTrail over JSON.
ct = client("cloudtrail")
# The audit log is written in batches: poll for a few seconds.
deadline = time.time() + 10
while True:
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateRole"}])["Events"]
    if events or time.time() > deadline:
        break
    time.sleep(0.1)
assert events and events[0]["EventName"] == "CreateRole", events

print("boto3 foundation: ok")
