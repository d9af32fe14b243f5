locals {
  volumes_compartment_id       = var.volumes_compartment_id != "" ? var.volumes_compartment_id : var.compartment_ocid
  failure_topic_compartment_id = var.failure_topic_compartment_id != "" ? var.failure_topic_compartment_id : var.compartment_ocid
  kms_key_compartment_id       = var.kms_key_compartment_id != "" ? var.kms_key_compartment_id : var.compartment_ocid
  kms_key_ids                  = [for key in split(",", var.kms_key_ids) : trimspace(key) if trimspace(key) != ""]

  # Features, all known at plan time: each one turns on its resources and policy statements.
  lifecycle_on         = var.copy_to_regions != "" || var.keep_last != "" || var.keep_days != ""
  failure_topic_on     = var.failure_topic_id != "" || var.create_failure_topic
  create_failure_topic = var.failure_topic_id == "" && var.create_failure_topic
  metrics_on           = var.metrics_namespace != ""
  alarm_on             = local.metrics_on && var.failure_alarm_enabled
  create_alarm_topic   = local.alarm_on && var.alarm_topic_id == "" && !local.failure_topic_on
  kms_on               = length(local.kms_key_ids) > 0
  restore_tests_on     = var.restore_test_compartment_id != ""
  sweep_schedule_on    = var.sweep_schedule != ""
  sweep_on             = local.sweep_schedule_on || var.sweep_compartment_ids != ""

  failure_topic_id       = var.failure_topic_id != "" ? var.failure_topic_id : (local.create_failure_topic ? oci_ons_notification_topic.failures[0].id : "")
  metrics_compartment_id = var.metrics_compartment_id != "" ? var.metrics_compartment_id : (local.metrics_on ? var.compartment_ocid : "")
  alarm_topic_id         = var.alarm_topic_id != "" ? var.alarm_topic_id : (local.create_alarm_topic ? oci_ons_notification_topic.alarm[0].id : local.failure_topic_id)

  mark_tag_namespace = oci_identity_tag_namespace.mark.name

  # The sweep's batches go to the trigger topic, whose subscription delivers them to the function.
  sweep_compartment_ids = var.sweep_compartment_ids != "" ? var.sweep_compartment_ids : (local.sweep_on ? local.volumes_compartment_id : "")
  sweep_topic_id        = local.sweep_on ? oci_ons_notification_topic.trigger.id : ""
  protected_compartment_ids = concat(
    [local.volumes_compartment_id],
    [for id in split(",", local.sweep_compartment_ids) : trimspace(id) if trimspace(id) != ""],
    [for id in split(",", var.allowed_compartment_ids) : trimspace(id) if trimspace(id) != ""],
  )
  sweep_schedule_id     = join("", oci_resource_scheduler_schedule.sweep[*].id)
  mark_tag_key          = oci_identity_tag.mark.name

  # Every function config key; a key whose value is empty is left out, so the function's own default applies.
  function_config_values = {
    OCI_CORE_ENDPOINT          = var.oci_core_endpoint
    BACKUP_TYPE                = var.backup_type
    ALLOWED_COMPARTMENT_IDS    = var.allowed_compartment_ids
    COPY_TO_REGIONS            = var.copy_to_regions
    COPY_KMS_KEY_IDS           = var.copy_kms_key_ids
    KEEP_LAST                  = var.keep_last
    KEEP_DAYS                  = var.keep_days
    PRUNE_DRY_RUN              = var.prune_dry_run
    FAILURE_TOPIC_ID           = local.failure_topic_id
    METRICS_NAMESPACE          = var.metrics_namespace
    METRICS_COMPARTMENT_ID     = local.metrics_compartment_id
    MAX_PARALLEL_CALLS         = var.max_parallel_calls
    OCI_NOTIFICATIONS_ENDPOINT = var.oci_notifications_endpoint
    OCI_TELEMETRY_ENDPOINT     = var.oci_telemetry_endpoint
    OPT_OUT_TAG                = var.opt_out_tag
    DEADLINE_MARGIN_SECONDS    = var.deadline_margin_seconds
    VOLUME_CACHE_SECONDS       = var.volume_cache_seconds
    LOG_LEVEL                  = var.log_level
    MARK_TAG_NAMESPACE         = local.mark_tag_namespace
    MARK_TAG_KEY               = local.mark_tag_key
    # Restore tests (their keys are longer than the column above).
    RESTORE_TEST_COMPARTMENT_ID = var.restore_test_compartment_id
    RESTORE_TESTS_PER_SWEEP     = var.restore_tests_per_sweep
    ADOPT_UNMARKED_BEFORE       = var.adopt_unmarked_before
    SWEEP_COMPARTMENT_IDS       = local.sweep_compartment_ids
    SWEEP_TAG                   = var.sweep_tag
    RPO_HOURS                   = var.rpo_hours
    SWEEP_TOPIC_ID              = local.sweep_topic_id
    SWEEP_BATCH_SIZE            = var.sweep_batch_size
  }
  function_config = { for key, value in local.function_config_values : key => value if value != "" }

  # Events the function handles; the backup-completed ones only when lifecycle (copies or retention) is on.
  event_types = concat(
    var.backup_on_volume_create ? [
      "com.oraclecloud.blockvolumes.createvolume.end",
      "com.oraclecloud.blockvolumes.createbootvolume.end",
    ] : [],
    var.backup_on_instance_launch ? ["com.oraclecloud.computeapi.launchinstance.end"] : [],
    local.lifecycle_on ? [
      "com.oraclecloud.blockvolumes.createvolumebackup.end",
      "com.oraclecloud.blockvolumes.createbootvolumebackup.end",
    ] : [],
  )

  # Policy statements per feature. deploy/permissions.json maps every OCI operation the function
  # calls to its permission and to the feature whose statements must grant it; check_stack.py
  # holds these statements to that table.
  function_subject = "dynamic-group ${oci_identity_dynamic_group.function.name}"
  policy_statements = {
    always = [
      "Allow ${local.function_subject} to use volumes in compartment id ${local.volumes_compartment_id}",
      "Allow ${local.function_subject} to inspect volume-backups in compartment id ${local.volumes_compartment_id}",
      "Allow ${local.function_subject} to inspect boot-volume-backups in compartment id ${local.volumes_compartment_id}",
      "Allow ${local.function_subject} to manage volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'VOLUME_BACKUP_CREATE'",
      "Allow ${local.function_subject} to manage boot-volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'BOOT_VOLUME_BACKUP_CREATE'",
      "Allow ${local.function_subject} to use volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'VOLUME_BACKUP_UPDATE'",
      "Allow ${local.function_subject} to use boot-volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'BOOT_VOLUME_BACKUP_UPDATE'",
      "Allow ${local.function_subject} to use tag-namespaces in tenancy where target.tag-namespace.name = '${local.mark_tag_namespace}'",
    ]
    launch_instance = [
      "Allow ${local.function_subject} to read instance-family in compartment id ${local.volumes_compartment_id}",
    ]
    lifecycle = [
      "Allow ${local.function_subject} to manage volume-backups in compartment id ${local.volumes_compartment_id} where any {request.permission = 'VOLUME_BACKUP_READ', request.permission = 'VOLUME_BACKUP_COPY', request.permission = 'VOLUME_BACKUP_DELETE'}",
      "Allow ${local.function_subject} to manage boot-volume-backups in compartment id ${local.volumes_compartment_id} where any {request.permission = 'BOOT_VOLUME_BACKUP_READ', request.permission = 'BOOT_VOLUME_BACKUP_COPY', request.permission = 'BOOT_VOLUME_BACKUP_DELETE'}",
    ]
    failure_topic = [
      "Allow ${local.function_subject} to use ons-topics in compartment id ${local.failure_topic_compartment_id} where request.permission = 'ONS_TOPIC_PUBLISH'",
    ]
    metrics = [
      "Allow ${local.function_subject} to use metrics in compartment id ${local.metrics_compartment_id} where target.metrics.namespace = '${var.metrics_namespace}'",
    ]
    kms = [
      "Allow service blockstorage to use keys in compartment id ${local.kms_key_compartment_id} where any {${join(", ", [for key in local.kms_key_ids : "target.key.id = '${key}'"])}}",
      "Allow ${local.function_subject} to use keys in compartment id ${local.kms_key_compartment_id} where any {${join(", ", [for key in local.kms_key_ids : "target.key.id = '${key}'"])}}",
    ]
    events = [
      "Allow service cloudEvents to use ons-topics in compartment id ${var.compartment_ocid}",
    ]
    sweep = [
      "Allow ${local.function_subject} to use ons-topics in compartment id ${var.compartment_ocid} where request.permission = 'ONS_TOPIC_PUBLISH'",
    ]
    sweep_schedule = [
      "Allow any-user to manage functions-family in compartment id ${var.compartment_ocid} where ALL {request.principal.type = 'resourceschedule', request.principal.id = '${local.sweep_schedule_id}'}",
    ]
    api_gateway = [
      "Allow any-user to use functions-family in compartment id ${var.compartment_ocid} where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = '${var.compartment_ocid}'}",
    ]
    # Volume create, update and delete in the restore-test compartment alone (boot volumes are of type volumes),
    # and reading the backups restored from.
    restore_tests = [
      "Allow ${local.function_subject} to manage volumes in compartment id ${var.restore_test_compartment_id} where any {request.permission = 'VOLUME_INSPECT', request.permission = 'VOLUME_CREATE', request.permission = 'VOLUME_UPDATE', request.permission = 'VOLUME_DELETE'}",
      "Allow ${local.function_subject} to manage volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'VOLUME_BACKUP_READ'",
      "Allow ${local.function_subject} to manage boot-volume-backups in compartment id ${local.volumes_compartment_id} where request.permission = 'BOOT_VOLUME_BACKUP_READ'",
    ]
  }
  policy_features = {
    always          = true
    launch_instance = var.backup_on_instance_launch
    lifecycle       = local.lifecycle_on
    failure_topic   = local.failure_topic_on
    metrics         = local.metrics_on
    kms             = local.kms_on
    events          = length(local.event_types) > 0 || local.restore_tests_on
    api_gateway     = var.api_gateway_enabled
    restore_tests   = local.restore_tests_on
    sweep           = local.sweep_on
    sweep_schedule  = local.sweep_schedule_on
  }
  policy = flatten([for feature, statements in local.policy_statements : statements if local.policy_features[feature]])
}
