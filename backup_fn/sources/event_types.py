"""The OCI event types this function acts on, named once: the dispatch in `sources/__init__` reads
them without importing the sources' models."""

CREATE_VOLUME_END = "com.oraclecloud.blockvolumes.createvolume.end"
CREATE_BOOT_VOLUME_END = "com.oraclecloud.blockvolumes.createbootvolume.end"
LAUNCH_INSTANCE_END = "com.oraclecloud.computeapi.launchinstance.end"
CREATE_VOLUME_BACKUP_END = "com.oraclecloud.blockvolumes.createvolumebackup.end"
CREATE_BOOT_VOLUME_BACKUP_END = "com.oraclecloud.blockvolumes.createbootvolumebackup.end"

# Every event about a backup (begin and end) goes to the backup-completed source, which ignores all but the ends.
BACKUP_EVENT_PREFIXES = ("com.oraclecloud.blockvolumes.createvolumebackup.", "com.oraclecloud.blockvolumes.createbootvolumebackup.")
