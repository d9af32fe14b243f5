resource "oci_apigateway_gateway" "backups" {
  count          = var.api_gateway_enabled ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-gateway"
  endpoint_type  = var.api_gateway_endpoint_type
  subnet_id      = var.api_gateway_subnet_id

  lifecycle {
    precondition {
      condition     = var.api_gateway_subnet_id != ""
      error_message = "api_gateway_subnet_id is required when api_gateway_enabled is true."
    }
  }
}

resource "oci_apigateway_deployment" "backups" {
  count          = var.api_gateway_enabled ? 1 : 0
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.backups[0].id
  display_name   = "${var.name_prefix}-deployment"
  path_prefix    = var.api_gateway_path_prefix

  specification {
    routes {
      path    = "/backup"
      methods = ["POST"]
      backend {
        type        = "ORACLE_FUNCTIONS_BACKEND"
        function_id = oci_functions_function.backup.id
      }
    }
  }
  depends_on = [oci_identity_policy.function]
}
