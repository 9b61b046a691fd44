"""Drives Wharf's CloudWatch with Debian's python3-boto3.

Usage: boto3_cloudwatch.py ENDPOINT  (credentials from the shared files)

Debian's botocore knows CloudWatch as an awsQuery service; with
AWS_DATA_PATH pointing at a copy of the current model whose protocol is
"json", the same script speaks awsJson 1.0. It prints the protocol it used.
"""
import datetime
import sys
import time

import boto3
import botocore.exceptions

endpoint = sys.argv[1]
cw = boto3.session.Session().client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
protocol = cw.meta.service_model.protocol
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
minute = now.replace(second=0)
ns = "Shop-" + protocol  # each run its own metrics


def expect_error(code, fn, **kwargs):
    try:
        fn(**kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"want {code}, got {got}: {e}"
        return e
    raise AssertionError(f"{fn.__name__} succeeded, want {code}")


cw.put_metric_data(Namespace=ns, MetricData=[
    {"MetricName": "Orders", "Dimensions": [{"Name": "Store", "Value": "north"}], "Timestamp": minute, "Value": 3, "Unit": "Count"},
    {"MetricName": "Orders", "Dimensions": [{"Name": "Store", "Value": "north"}], "Timestamp": minute, "Values": [1, 2], "Counts": [2, 1], "Unit": "Count"},
    {"MetricName": "Orders", "Dimensions": [{"Name": "Store", "Value": "south"}], "Timestamp": minute,
     "StatisticValues": {"SampleCount": 2, "Sum": 10, "Minimum": 4, "Maximum": 6}, "Unit": "Count"},
])
st = cw.get_metric_statistics(Namespace=ns, MetricName="Orders", Dimensions=[{"Name": "Store", "Value": "north"}],
                              StartTime=minute, EndTime=minute + datetime.timedelta(minutes=1), Period=60,
                              Statistics=["Sum", "SampleCount", "Maximum", "Average"])
assert len(st["Datapoints"]) == 1, st
dp = st["Datapoints"][0]
assert dp["Sum"] == 7 and dp["SampleCount"] == 4 and dp["Maximum"] == 3 and dp["Average"] == 1.75 and dp["Unit"] == "Count", dp
assert st["Label"] == "Orders", st

ms = lambda store: {"Metric": {"Namespace": ns, "MetricName": "Orders", "Dimensions": [{"Name": "Store", "Value": store}]},
                    "Period": 60, "Stat": "Sum"}
gd = cw.get_metric_data(StartTime=minute, EndTime=minute + datetime.timedelta(minutes=1), MetricDataQueries=[
    {"Id": "n", "MetricStat": ms("north"), "ReturnData": False},
    {"Id": "s", "MetricStat": ms("south"), "ReturnData": False},
    {"Id": "total", "Expression": "SUM(METRICS())", "Label": "all stores"},
    {"Id": "share", "Expression": "100 * n / (n + s)"},
])
res = {r["Id"]: r for r in gd["MetricDataResults"]}
assert res["total"]["Values"] == [17.0] and res["total"]["Label"] == "all stores", res
assert abs(res["share"]["Values"][0] - 700 / 17) < 1e-9, res

names = sorted(m["Dimensions"][0]["Value"] for m in cw.list_metrics(Namespace=ns)["Metrics"])
assert names == ["north", "south"], names

expect_error("InvalidParameterValue", cw.put_metric_data, Namespace=ns,
             MetricData=[{"MetricName": "Orders", "Value": 1, "StorageResolution": 5}])
expect_error("InvalidParameterCombination", cw.get_metric_statistics, Namespace=ns, MetricName="Orders",
             StartTime=now - datetime.timedelta(hours=1), EndTime=now, Period=1, Statistics=["Sum"])

# An alarm already breaching when it is created goes to ALARM at its first evaluation.
cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 9, "StorageResolution": 1}])
cw.put_metric_alarm(AlarmName="errors", Namespace=ns, MetricName="Errors", Statistic="Maximum", Period=10,
                    EvaluationPeriods=3, DatapointsToAlarm=1, Threshold=5, ComparisonOperator="GreaterThanThreshold",
                    OKActions=["arn:aws:sns:us-east-1:000000000000:ops"])
deadline = time.time() + 30
while True:
    a = cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
    if a["StateValue"] == "ALARM":
        break
    assert time.time() < deadline, a
    time.sleep(0.5)
assert a["StateReason"].startswith("Threshold Crossed: 1 out of the last 3 datapoints [9.0 ("), a["StateReason"]
cw.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="by hand")
a = cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
assert a["StateValue"] == "OK" and a["StateReason"] == "by hand", a
hist = cw.describe_alarm_history(AlarmName="errors")["AlarmHistoryItems"]
summaries = [h["HistorySummary"] for h in hist]
assert "Alarm updated from ALARM to OK" in summaries, summaries
assert any(s.startswith("Failed to execute action arn:aws:sns:") for s in summaries), summaries
cw.delete_alarms(AlarmNames=["errors"])
print(f"boto3 cloudwatch ({protocol}): ok")
