output "topic_arn" {
  description = "ARN of the alarm topic (the function's and the API's alarms in serverless.yml publish here too)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the database and proxy alarms, by key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

# Terraform's tests read a module's outputs only: the root module's plan-level tests (terraform/tests/) check the
# planned alarms through this.
output "alarms" {
  description = "The database and proxy alarms by key, as planned (terraform/tests/ asserts on them)."
  value       = aws_cloudwatch_metric_alarm.this
}

output "email_subscriptions" {
  description = "Number of e-mail subscriptions to the alarm topic."
  value       = length(aws_sns_topic_subscription.email)
}
