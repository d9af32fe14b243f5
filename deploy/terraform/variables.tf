# Filled by Resource Manager itself; pass them in a tfvars file when running terraform by hand.
variable "tenancy_ocid" {
  type        = string
  description = "Tenancy OCID: the dynamic group and the policy live in the root compartment."
}

variable "compartment_ocid" {
  type        = string
  description = "Compartment of the function, its application, topics, alarm and gateway."
}

variable "region" {
  type        = string
  description = "Region identifier, e.g. us-ashburn-1."
}

# ---------------------------------------------------------------------------------------------
# Function

variable "name_prefix" {
  type        = string
  default     = "volume-backup"
  description = "Prefix of every name the stack gives (dynamic group, policy, topics, rule, alarm)."
}

variable "volumes_compartment_id" {
  type        = string
  default     = ""
  description = "Compartment whose volumes are backed up (policies and the Events rule; its children included). Empty: compartment_ocid."
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the Functions application; it needs a route to the OCI APIs (service gateway or NAT gateway)."
}

variable "application_shape" {
  type        = string
  default     = "GENERIC_X86"
  description = "GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM: must match the image's architecture."
  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.application_shape)
    error_message = "application_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "function_image" {
  type        = string
  description = "The image pushed by `fn deploy` / `fn push`, e.g. iad.ocir.io/<namespace>/backups/volume-backup:0.1.0."
}

variable "function_memory_in_mbs" {
  type        = number
  default     = 128
  description = "Function memory (MB): 128, 256, 512, 1024 or 2048."
  validation {
    condition     = contains([128, 256, 512, 1024, 2048], var.function_memory_in_mbs)
    error_message = "function_memory_in_mbs must be 128, 256, 512, 1024 or 2048."
  }
}

variable "function_timeout_in_seconds" {
  type        = number
  default     = 60
  description = "Function timeout (s), at most 300."
  validation {
    condition     = var.function_timeout_in_seconds >= 5 && var.function_timeout_in_seconds <= 300
    error_message = "function_timeout_in_seconds must be between 5 and 300."
  }
}

variable "provisioned_concurrency_units" {
  type        = number
  default     = 0
  description = "Provisioned concurrency in PCUs (0: none). Keeps instances warm for API Gateway callers that cannot wait for a cold start; billed while provisioned."
  validation {
    condition     = var.provisioned_concurrency_units >= 0
    error_message = "provisioned_concurrency_units must be 0 or more."
  }
}

variable "enable_invoke_log" {
  type        = bool
  default     = true
  description = "Create a log group and the application's service log (category invoke): the function's log lines land there."
}

# ---------------------------------------------------------------------------------------------
# Triggers

variable "backup_on_volume_create" {
  type        = bool
  default     = true
  description = "Events: back up every new block volume and boot volume (createvolume.end, createbootvolume.end)."
}

variable "backup_on_instance_launch" {
  type        = bool
  default     = true
  description = "Events: back up the boot volume of every launched instance (launchinstance.end); adds read instance-family."
}

variable "api_gateway_enabled" {
  type        = bool
  default     = false
  description = "Create an API Gateway with a POST /backup route to the function."
}

variable "api_gateway_subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the gateway (required when api_gateway_enabled)."
}

variable "api_gateway_endpoint_type" {
  type        = string
  default     = "PRIVATE"
  description = "PRIVATE (reachable from the VCN) or PUBLIC. A PUBLIC gateway needs an authorizer in front of the route."
  validation {
    condition     = contains(["PUBLIC", "PRIVATE"], var.api_gateway_endpoint_type)
    error_message = "api_gateway_endpoint_type must be PUBLIC or PRIVATE."
  }
}

variable "api_gateway_path_prefix" {
  type        = string
  default     = "/backups/v1"
  description = "Deployment path prefix; the route is <prefix>/backup."
}

# ---------------------------------------------------------------------------------------------
# Failure reporting

variable "failure_topic_id" {
  type        = string
  default     = ""
  description = "Existing Notifications topic for FAILURE_TOPIC_ID (one message per failed call)."
}

variable "failure_topic_compartment_id" {
  type        = string
  default     = ""
  description = "Compartment of failure_topic_id (for the publish policy). Empty: compartment_ocid."
}

variable "create_failure_topic" {
  type        = bool
  default     = false
  description = "Create a topic for FAILURE_TOPIC_ID (when failure_topic_id is empty)."
}

variable "failure_alarm_enabled" {
  type        = bool
  default     = true
  description = "With metrics on, create an alarm on BackupsFailed[5m].sum() > 0."
}

variable "alarm_topic_id" {
  type        = string
  default     = ""
  description = "Topic the failure alarm pages. Empty: the failure topic, or else a topic the stack creates."
}

variable "alert_email" {
  type        = string
  default     = ""
  description = "E-mail address subscribed to the topics the stack creates for people (failure topic, alarm topic); it must confirm the subscription."
}

variable "kms_key_ids" {
  type        = string
  default     = ""
  description = "Comma-separated vault key OCIDs the backups may be encrypted with (kmsKeyId in requests, COPY_KMS_KEY_IDS)."
}

variable "kms_key_compartment_id" {
  type        = string
  default     = ""
  description = "Compartment of the vault keys. Empty: compartment_ocid."
}

# ---------------------------------------------------------------------------------------------
# Function config: each is set only when non-empty (the function's own default applies otherwise).

variable "oci_core_endpoint" {
  type        = string
  default     = ""
  description = "OCI_CORE_ENDPOINT: base URL of the Core Services API."
}

variable "backup_type" {
  type        = string
  default     = ""
  description = "BACKUP_TYPE: FULL or INCREMENTAL when a request names none (function default INCREMENTAL)."
  validation {
    condition     = contains(["", "FULL", "INCREMENTAL"], var.backup_type)
    error_message = "backup_type must be empty, FULL or INCREMENTAL."
  }
}

variable "allowed_compartment_ids" {
  type        = string
  default     = ""
  description = "ALLOWED_COMPARTMENT_IDS: comma-separated compartment OCIDs; volumes elsewhere are refused."
}

variable "copy_to_regions" {
  type        = string
  default     = ""
  description = "COPY_TO_REGIONS: comma-separated regions each completed backup is copied to (turns lifecycle on)."
}

variable "copy_kms_key_ids" {
  type        = string
  default     = ""
  description = "COPY_KMS_KEY_IDS: region=key OCID pairs, comma-separated."
}

variable "keep_last" {
  type        = string
  default     = ""
  description = "KEEP_LAST: per volume, keep at least this many of the function's own backups (turns lifecycle on)."
}

variable "keep_days" {
  type        = string
  default     = ""
  description = "KEEP_DAYS: delete the function's backups older than this many days, never below KEEP_LAST."
}

variable "adopt_unmarked_before" {
  type        = string
  default     = ""
  description = "ADOPT_UNMARKED_BEFORE: RFC 3339 time; backups with the old backup-trigger tag made before it are adopted (marked, then pruned like the function's own). Empty: never adopted, kept for ever."
}

variable "prune_dry_run" {
  type        = string
  default     = ""
  description = "PRUNE_DRY_RUN: true to only report what retention would delete."
}

variable "metrics_namespace" {
  type        = string
  default     = ""
  description = "METRICS_NAMESPACE: custom Monitoring namespace (letters, digits, _; not oci_/oracle_); empty: no metrics."
}

variable "metrics_compartment_id" {
  type        = string
  default     = ""
  description = "METRICS_COMPARTMENT_ID: compartment of the metrics. Empty with a namespace: compartment_ocid."
}

variable "max_parallel_calls" {
  type        = string
  default     = ""
  description = "MAX_PARALLEL_CALLS: resources of one call worked on at once, 1-32 (function default 8)."
}

variable "oci_notifications_endpoint" {
  type        = string
  default     = ""
  description = "OCI_NOTIFICATIONS_ENDPOINT: base URL of the Notifications data plane."
}

variable "oci_telemetry_endpoint" {
  type        = string
  default     = ""
  description = "OCI_TELEMETRY_ENDPOINT: base URL of Monitoring's telemetry ingestion."
}

variable "opt_out_tag" {
  type        = string
  default     = ""
  description = "OPT_OUT_TAG: freeform tag key that, true on a volume, skips its backups (function default backup-opt-out)."
}

variable "deadline_margin_seconds" {
  type        = string
  default     = ""
  description = "DEADLINE_MARGIN_SECONDS: time kept back from Fn-Deadline to answer, 0.2-30."
}

variable "volume_cache_seconds" {
  type        = string
  default     = ""
  description = "VOLUME_CACHE_SECONDS: how long a container reuses a volume's compartment and tags (0: off)."
}

variable "log_level" {
  type        = string
  default     = ""
  description = "LOG_LEVEL: DEBUG, INFO, WARNING or ERROR (function default INFO)."
  validation {
    condition     = contains(["", "DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be empty, DEBUG, INFO, WARNING or ERROR."
  }
}

# ---------------------------------------------------------------------------------------------
# Restore tests

variable "restore_test_compartment_id" {
  type        = string
  default     = ""
  description = "RESTORE_TEST_COMPARTMENT_ID: compartment where restore tests create and delete their volumes (the only one the function may delete volumes in). Empty: restore tests off."
}

variable "restore_tests_per_sweep" {
  type        = string
  default     = ""
  description = "RESTORE_TESTS_PER_SWEEP: volumes each sweep restore-tests, 1-100 (function default 1)."
}

# ---------------------------------------------------------------------------------------------
# Protection sweep

variable "sweep_schedule" {
  type        = string
  default     = "FREQ=HOURLY;INTERVAL=1"
  description = "RFC 5545 recurrence of the sweep (Resource Scheduler, ICAL), e.g. FREQ=HOURLY;INTERVAL=1. Empty: no schedule."
}

variable "sweep_compartment_ids" {
  type        = string
  default     = ""
  description = "SWEEP_COMPARTMENT_IDS: comma-separated compartments the sweep protects, each volumes_compartment_id or inside it (the stack's policy names volumes_compartment_id, which covers its sub-compartments). Empty with the sweep on: volumes_compartment_id."
}

variable "sweep_tag" {
  type        = string
  default     = ""
  description = "SWEEP_TAG: key=value (or key): only volumes with this freeform tag are swept. Empty: every volume."
}

variable "rpo_hours" {
  type        = string
  default     = ""
  description = "RPO_HOURS: a volume is protected while it has a backup younger than this, 0.25-8760 (function default 24)."
}

variable "sweep_batch_size" {
  type        = string
  default     = ""
  description = "SWEEP_BATCH_SIZE: volumes per batch a large sweep publishes to the trigger topic, 1-100 (function default 50)."
}
