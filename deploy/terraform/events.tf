# Events reach the function through a topic: Notifications retries a failed delivery (1, 2, 4, …
# 32 min, up to 2 hours), where a rule's direct FAAS action would not. Alarms (oci_blockstore) and
# people may publish to this topic too; see the trigger_topic_id output.
resource "oci_ons_notification_topic" "trigger" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-trigger"
  description    = "Events, alarms and backup requests for the ${var.name_prefix} function"
}

resource "oci_ons_subscription" "function" {
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.trigger.id
  protocol       = "ORACLE_FUNCTIONS"
  endpoint       = oci_functions_function.backup.id
}

resource "oci_events_rule" "volumes" {
  count          = length(local.event_types) > 0 ? 1 : 0
  compartment_id = local.volumes_compartment_id
  display_name   = "${var.name_prefix}-events"
  description    = "Volume, instance and backup events for the ${var.name_prefix} function"
  is_enabled     = true
  condition      = jsonencode({ eventType = local.event_types })
  actions {
    action {
      action_type = "ONS"
      is_enabled  = true
      topic_id    = oci_ons_notification_topic.trigger.id
    }
  }
  depends_on = [oci_identity_policy.function]
}

# A restore test ends with its volume's createvolume.end: a rule in the restore-test compartment,
# whose condition names that compartment, sends those events to the function too (the function
# reads each volume from OCI and judges only its own test volumes; it never backs them up).
resource "oci_events_rule" "restore_tests" {
  count          = local.restore_tests_on ? 1 : 0
  compartment_id = var.restore_test_compartment_id
  display_name   = "${var.name_prefix}-restore-tests"
  description    = "Restored test volumes of the ${var.name_prefix} function"
  is_enabled     = true
  condition = jsonencode({
    eventType = ["com.oraclecloud.blockvolumes.createvolume.end", "com.oraclecloud.blockvolumes.createbootvolume.end"]
    data      = { compartmentId = var.restore_test_compartment_id }
  })
  actions {
    action {
      action_type = "ONS"
      is_enabled  = true
      topic_id    = oci_ons_notification_topic.trigger.id
    }
  }
  depends_on = [oci_identity_policy.function]

  # The function refuses this at run time too (InvalidConfiguration): a restore-test compartment that is
  # also a protected one would switch off every backup there and grant volume delete on production.
  lifecycle {
    precondition {
      condition     = !contains(local.protected_compartment_ids, var.restore_test_compartment_id)
      error_message = "restore_test_compartment_id must be a compartment of its own, not volumes_compartment_id, nor one of sweep_compartment_ids or allowed_compartment_ids."
    }
  }
}
