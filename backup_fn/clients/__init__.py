"""The OCI clients: the only modules that touch the oci SDK (Core Services, Notifications,
Monitoring), each over the SDK's own `BaseClient`, signer, retry machinery and `ServiceError`."""
