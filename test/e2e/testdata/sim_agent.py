"""A simulated ECS agent for end-to-end tests, with boto3: it keeps the
cluster's container instances connected by polling Wharf's agent channel
(the wharfagent model, found through AWS_DATA_PATH) and reports tasks as an
agent would through the ECS API: pending ones RUNNING, those desired
STOPPED as STOPPED. Usage: sim_agent.py ENDPOINT CLUSTER (runs until killed)."""
import sys
import time

import boto3

endpoint, cluster = sys.argv[1], sys.argv[2]
ecs = boto3.client("ecs", endpoint_url=endpoint)
agent = boto3.client("wharfagent", endpoint_url=endpoint)
acked = {}
while True:
    for arn in ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]:
        out = agent.poll_assignments(cluster=cluster, containerInstance=arn, ackedSequence=acked.get(arn, 0), waitSeconds=0)
        acked[arn] = out.get("sequence", acked.get(arn, 0))
    for desired in ("RUNNING", "STOPPED"):
        arns = ecs.list_tasks(cluster=cluster, desiredStatus=desired)["taskArns"]
        for i in range(0, len(arns), 100):
            for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + 100])["tasks"]:
                last, want = t["lastStatus"], t["desiredStatus"]
                if last == "STOPPED" or (want == "RUNNING" and last == "RUNNING"):
                    continue
                status = "STOPPED" if want == "STOPPED" else "RUNNING"
                ecs.submit_task_state_change(cluster=cluster, task=t["taskArn"], status=status)
    time.sleep(0.2)
