"""Drives Wharf's Application Auto Scaling with Debian's python3-boto3.

Usage: boto3_autoscaling.py ENDPOINT  (credentials from the shared files)

The cluster "as" with the service "web" exists (the Go test made it).
"""
import sys

import boto3
import botocore.exceptions

endpoint = sys.argv[1]
s = boto3.session.Session()
aas = s.client("application-autoscaling", endpoint_url=endpoint, region_name="us-east-1")
cw = s.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
target = dict(ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount", ResourceId="service/as/web")

# Debian's botocore model predates ScalableTargetARN in the answer.
aas.register_scalable_target(MinCapacity=1, MaxCapacity=3, **target)
got = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/as/web"])["ScalableTargets"]
assert len(got) == 1 and got[0]["MinCapacity"] == 1 and got[0]["MaxCapacity"] == 3, got

pol = aas.put_scaling_policy(PolicyName="mem70", PolicyType="TargetTrackingScaling", **target,
                             TargetTrackingScalingPolicyConfiguration={
                                 "TargetValue": 70.0,
                                 "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"},
                                 "ScaleInCooldown": 120})
names = sorted(a["AlarmName"] for a in pol["Alarms"])
assert len(names) == 2 and "-AlarmHigh-" in names[0] and "-AlarmLow-" in names[1], names
alarms = cw.describe_alarms(AlarmNames=names)["MetricAlarms"]
assert {a["MetricName"] for a in alarms} == {"MemoryUtilization"}, alarms
assert all(a["AlarmActions"] == [pol["PolicyARN"]] for a in alarms), alarms

pols = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId="service/as/web")["ScalingPolicies"]
assert len(pols) == 1 and pols[0]["TargetTrackingScalingPolicyConfiguration"]["ScaleInCooldown"] == 120, pols

try:
    aas.register_scalable_target(ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
                                 ResourceId="service/as/missing", MinCapacity=1, MaxCapacity=2)
    raise AssertionError("registered a missing service")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "ValidationException", e.response
    assert "ECS service doesn't exist" in e.response["Error"]["Message"], e.response

aas.deregister_scalable_target(**target)
assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []
print("boto3 autoscaling: ok")
