package ecs

// taskHealth is a task's healthStatus by ECS's rule, from its essential
// containers that have a health check: UNHEALTHY if any is UNHEALTHY,
// HEALTHY if all are HEALTHY, else (or when none has a check) UNKNOWN.
func taskHealth(cs []containerRec) string {
	checked, healthy := 0, 0
	for _, c := range cs {
		if !c.Essential || !c.HealthCheck {
			continue
		}
		checked++
		switch c.HealthStatus {
		case "UNHEALTHY":
			return "UNHEALTHY"
		case "HEALTHY":
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return "HEALTHY"
	}
	return "UNKNOWN"
}
