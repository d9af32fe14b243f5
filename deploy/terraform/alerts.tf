# FAILURE_TOPIC_ID: one message per failed call, when create_failure_topic (and no failure_topic_id).
resource "oci_ons_notification_topic" "failures" {
  count          = local.create_failure_topic ? 1 : 0
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-failures"
  description    = "Failed calls of the ${var.name_prefix} function"
}

resource "oci_ons_subscription" "failures_email" {
  count          = local.create_failure_topic && var.alert_email != "" ? 1 : 0
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.failures[0].id
  protocol       = "EMAIL"
  endpoint       = var.alert_email
}

# The topic the failure alarm pages, when neither alarm_topic_id nor a failure topic is given.
resource "oci_ons_notification_topic" "alarm" {
  count          = local.create_alarm_topic ? 1 : 0
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-alarm"
  description    = "Alarm on failed backups of the ${var.name_prefix} function"
}

resource "oci_ons_subscription" "alarm_email" {
  count          = local.create_alarm_topic && var.alert_email != "" ? 1 : 0
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarm[0].id
  protocol       = "EMAIL"
  endpoint       = var.alert_email
}

# The function posts BackupsFailed (dimensions trigger, outcome) once per call when metrics are on.
resource "oci_monitoring_alarm" "backups_failed" {
  count                 = local.alarm_on ? 1 : 0
  compartment_id        = var.compartment_ocid
  metric_compartment_id = local.metrics_compartment_id
  namespace             = var.metrics_namespace
  query                 = "BackupsFailed[5m].sum() > 0"
  severity              = "CRITICAL"
  display_name          = "${var.name_prefix}: backups failed"
  body                  = "The ${var.name_prefix} function reported failed backups. Its log (the Functions application's invoke log) has one JSON line per call with callId and opcRequestId."
  is_enabled            = true
  pending_duration      = "PT1M"
  message_format        = "ONS_OPTIMIZED"
  destinations          = [local.alarm_topic_id]
}

# RestoreTestsFailed: a backup that did not restore into an AVAILABLE volume of its size.
resource "oci_monitoring_alarm" "restore_tests_failed" {
  count                 = local.alarm_on && local.restore_tests_on ? 1 : 0
  compartment_id        = var.compartment_ocid
  metric_compartment_id = local.metrics_compartment_id
  namespace             = var.metrics_namespace
  query                 = "RestoreTestsFailed[1h].sum() > 0"
  severity              = "CRITICAL"
  display_name          = "${var.name_prefix}: restore tests failed"
  body                  = "A restore test of the ${var.name_prefix} function failed: a backup did not restore into an AVAILABLE volume of its size. The failure message names the backup; its freeform tag restore-test records the verdict."
  is_enabled            = true
  pending_duration      = "PT1M"
  message_format        = "ONS_OPTIMIZED"
  destinations          = [local.alarm_topic_id]
}
