# The function's resource principal: this function only, not every function in the compartment.
resource "oci_identity_dynamic_group" "function" {
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-fn"
  description    = "The ${var.name_prefix} function (resource principal)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.backup.id}'}"
}

# In the root compartment, since its statements name several compartments (volumes, vault, topics).
# local.policy holds only the statements of the features that are on (see locals.tf).
resource "oci_identity_policy" "function" {
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-policy"
  description    = "Least privilege for the ${var.name_prefix} function and the services that call it"
  statements     = local.policy
}
