package models
import "testing"
func TestLoadAll(t *testing.T){
 for _, s := range []string{"ecs","ecr","iam","sts","cloudwatch","logs","cloudtrail","elbv2","ssm","kms","events","scheduler","secretsmanager","servicediscovery","application-autoscaling","ecr-public"} {
  m, err := Load(s); if err != nil { t.Fatal(err) }
  if len(m.Operations)==0 { t.Fatal(s) }
 }
}
