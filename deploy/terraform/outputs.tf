output "function_id" {
  description = "OCID of the function (fn invoke, subscriptions, Events FAAS actions)."
  value       = oci_functions_function.backup.id
}

output "function_invoke_endpoint" {
  description = "Invoke endpoint of the function (oci fn function invoke)."
  value       = oci_functions_function.backup.invoke_endpoint
}

output "trigger_topic_id" {
  description = "Topic delivering Events to the function; point volume alarms at it, or publish backup requests to it."
  value       = oci_ons_notification_topic.trigger.id
}

output "failure_topic_id" {
  description = "FAILURE_TOPIC_ID given to the function (empty: none)."
  value       = local.failure_topic_id
}

output "alarm_topic_id" {
  description = "Topic the failure alarm pages (empty: no alarm)."
  value       = local.alarm_on ? local.alarm_topic_id : ""
}

output "api_gateway_url" {
  description = "POST here to ask for a backup (empty without the gateway)."
  value       = var.api_gateway_enabled ? "${oci_apigateway_deployment.backups[0].endpoint}/backup" : ""
}

output "dynamic_group_name" {
  description = "Dynamic group matching the function."
  value       = oci_identity_dynamic_group.function.name
}
