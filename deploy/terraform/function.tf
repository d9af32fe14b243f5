resource "oci_functions_application" "backups" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-app"
  subnet_ids     = [var.subnet_id]
  shape          = var.application_shape
}

resource "oci_functions_function" "backup" {
  application_id     = oci_functions_application.backups.id
  display_name       = var.name_prefix
  image              = var.function_image
  memory_in_mbs      = var.function_memory_in_mbs
  timeout_in_seconds = var.function_timeout_in_seconds
  config             = local.function_config

  dynamic "provisioned_concurrency_config" {
    for_each = var.provisioned_concurrency_units > 0 ? [var.provisioned_concurrency_units] : []
    content {
      strategy = "CONSTANT"
      count    = provisioned_concurrency_config.value
    }
  }
}

# The application's invoke log: every line the function writes (its JSON log line per call,
# with callId and opcRequestId) lands here.
resource "oci_logging_log_group" "backups" {
  count          = var.enable_invoke_log ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-logs"
  description    = "Logs of the ${var.name_prefix} Functions application"
}

resource "oci_logging_log" "invoke" {
  count        = var.enable_invoke_log ? 1 : 0
  display_name = "${var.name_prefix}-invoke"
  log_group_id = oci_logging_log_group.backups[0].id
  log_type     = "SERVICE"
  is_enabled   = true
  configuration {
    compartment_id = var.compartment_ocid
    source {
      category    = "invoke"
      resource    = oci_functions_application.backups.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}
