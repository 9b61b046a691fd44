// Package ecs is Wharf's Amazon ECS control plane: clusters, account
// settings, task definitions, container instances and their attributes and
// tags, served through the generated ecsapi types for the tenant (account,
// region) found in the context.
//
// Decisions are pure functions of their input (validTaskDefinition,
// validCapacity, validSettings…); the methods of Service read and write the
// store around them; [ErrorTable] maps the domain errors to ECS's error
// shapes.
//
// # Persistent layout
//
// Table "ecs" (store.Regional) holds JSON documents:
//
//	cluster/<name>                     clusterRec (ACTIVE, or INACTIVE after DeleteCluster)
//	tdfamily/<family>                  familyRec (the last revision number handed out)
//	taskdef/<family>!<revision>        taskDefRec (revision zero-padded to 10 digits, so
//	                                   keys sort by family, then revision; '!' sorts
//	                                   below every character a family may contain)
//	instance/<cluster>/<id>            instanceRec (container instance, attributes, resources)
//	task/<cluster>/<id>                taskRec (deleted by SweepStoppedTasks once STOPPED
//	                                   for the retention period)
//	clienttoken/<token>                tokenRec (RunTask idempotency: the tasks a token started)
//	taskcreds/<cluster>/<id>           credsRec (role credentials handed to the task's agent;
//	                                   deleted when the task stops; see creds.go)
//	ec2id/<cluster>/<ec2InstanceId>    ec2IndexRec (the instance registered for an EC2 ID)
//	setting/<principalARN>/<name>      settingRec (PutAccountSetting)
//	setting/default/<name>             settingRec (PutAccountSettingDefault)
//	service/<cluster>/<name>           serviceRec (a service with its deployments, events and
//	                                   the service scheduler's counters; services_store.go)
//
// Table "ecs.tenants" (store.System) lists the tenants that have tasks, for
// the stopped-task sweep (see retention.go):
//
//	<account>/<region>                 {}
//
// Tables "ecs.queues" (the agent channel's sequences and per-queue task
// index, see queue.go) and "ecs.ipam" (awsvpc addresses, see ipam.go) are
// store.System too.
//
// Table "ecs.svctenants" (store.System) lists the tenants that have
// services, for the service scheduler (services_loop.go):
//
//	<account>/<region>                 {}
//
// taskDefRec keeps the normalized ecsapi.TaskDefinition encoded with its Go
// field names; a regeneration of ecsapi that renames a field needs a
// migration. Every record carries "layout" (layoutVersion, now 1).
// taskRec's "clientToken" is optional: records written before it have none.
package ecs
