# The function's mark: a defined-tag namespace only the function's dynamic group may use (see
# locals.tf). Its key's value on a backup the function creates is `backup-of:<the volume's OCID>`,
# set in the create; on what it marks later (a copy, a restore-test volume) that resource's own OCID.
# Anyone who may use a backup can set freeform tags on it; nobody but the function can apply this one.
resource "oci_identity_tag_namespace" "mark" {
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-mark"
  description    = "Marks what the ${var.name_prefix} function made; only its dynamic group may use it"
}

resource "oci_identity_tag" "mark" {
  tag_namespace_id = oci_identity_tag_namespace.mark.id
  name             = "resource"
  description      = "Set by the ${var.name_prefix} function on what it made: backup-of:<volume OCID> on its backups, the resource's own OCID on what it marks later"
}
