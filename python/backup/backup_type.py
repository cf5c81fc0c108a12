"""BackupType: the kinds of backup, an enum whose members are also their names as strings."""

import enum


class BackupType(str, enum.Enum):
    """full, incremental (changes since the newest backup) or differential (changes since the
    newest full backup). A str: BackupType.FULL == "full", and BackupType("full") is FULL; every
    call that takes a BackupType also takes the guide's strings."""

    FULL = "full"
    INCREMENTAL = "incremental"
    DIFFERENTIAL = "differential"

    def __str__(self):
        return self.value
