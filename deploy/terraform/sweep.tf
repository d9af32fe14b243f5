# The protection sweep on a clock: Resource Scheduler invokes the function with {"sweep": {}} as
# the body (sent explicitly: what arrives without a BODY parameter is not documented). An empty
# sweep_schedule turns the schedule off; a sweep can still be sent by hand or through the trigger topic.
resource "oci_resource_scheduler_schedule" "sweep" {
  count              = local.sweep_schedule_on ? 1 : 0
  compartment_id     = var.compartment_ocid
  display_name       = "${var.name_prefix}-sweep"
  description        = "Protection sweep of the ${var.name_prefix} function: every volume in scope keeps a backup younger than its RPO"
  action             = "START_RESOURCE"
  recurrence_type    = "ICAL"
  recurrence_details = var.sweep_schedule
  resources {
    id = oci_functions_function.backup.id
    parameters {
      parameter_type = "BODY"
      # The provider takes the body as a list of one JSON string, and sends it parsed.
      value = [jsonencode({ sweep = {} })]
    }
  }
  depends_on = [oci_identity_policy.function]
}
