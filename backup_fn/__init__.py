"""Event-driven block volume and boot volume backups for OCI Functions."""
