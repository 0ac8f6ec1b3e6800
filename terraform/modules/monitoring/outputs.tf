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
