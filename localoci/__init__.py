"""Local stand-ins for the OCI platform: a Core Services emulator, a resource-principal identity, and the fdk harness."""
